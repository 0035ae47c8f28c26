"""The decoder's number formats: settled once, from the CPU that starts the run; recorded; part of the cache key."""

from __future__ import annotations

from pocket_batch.core.config import ModelOptions, Synthesis, int8_tiles, native_bf16
from pocket_batch.synth.model.source import ModelSource


def test_auto_settles_on_this_cpus_formats_and_batch_1_stays_pocket_tts_own(small_model):
    auto = Synthesis(model=ModelOptions(config=small_model)).model
    assert auto.decoder == ("bf16" if native_bf16() else "fp32") and auto.decoder_int8 == (not int8_tiles())
    single = Synthesis(model=ModelOptions(config=small_model, decoder="bf16", decoder_int8=True), batch_size=1).model
    assert single.numerics == {"backbone": "int8", "decoder": "fp32", "decoder_linears": "fp32"}
    forced = Synthesis(model=ModelOptions(config=small_model, decoder="fp32", decoder_int8=True)).model
    assert forced.numerics == {"backbone": "int8", "decoder": "fp32", "decoder_linears": "int8"}
    assert Synthesis(model=forced).model == forced  # settled options stay as they are


def test_each_numeric_path_has_its_own_fingerprint(small_model):
    paths = [ModelOptions(config=small_model, decoder=decoder, decoder_int8=int8)
             for decoder in ("fp32", "bf16") for int8 in (False, True)]
    assert len({ModelSource(options).fingerprint for options in paths}) == 4
