"""The decoder's number formats and the batch size: settled once, from the CPU that starts the run; recorded; part of the cache key."""

from __future__ import annotations

import pytest

from pocket_batch.core.config import ModelOptions, Synthesis
from pocket_batch.core.cpu import Cpu
from pocket_batch.synth.model.source import ModelSource

AVX2 = Cpu(frozenset({"avx2", "fma"}))
AVX512_BF16 = Cpu(frozenset({"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}))
AMX = Cpu(AVX512_BF16.flags | {"amx_tile", "amx_bf16", "amx_int8"})


@pytest.mark.parametrize(("cpu", "decoder", "linears", "convs"), [(AVX2, "fp32", "int8", "fp32"),
                                                                  (AVX512_BF16, "bf16", "int8", "int8"),
                                                                  (AMX, "bf16", "bf16", "bf16")])
def test_auto_settles_on_each_cpu_class_own_formats(cpu, decoder, linears, convs):
    settings = Synthesis()
    assert not settings.model.settled  # validating settings reads no CPU: `on` does, when a run starts
    model = settings.on(cpu).model
    assert model.settled and model.numerics == {"backbone": "int8", "decoder": decoder, "decoder_linears": linears,
                                                "decoder_convs": convs}


@pytest.mark.parametrize(("cpu", "batch"), [(AVX2, 16), (AVX512_BF16, 24), (AMX, 16)])
def test_the_batch_size_settles_on_each_cpu_class_measured_one_and_a_choice_made_stays_made(cpu, batch):
    assert Synthesis().batch_size is None and Synthesis().on(cpu).batch_size == batch
    assert Synthesis(batch_size=8).on(cpu).batch_size == 8
    assert Synthesis().on(cpu).on(AVX2).batch_size == batch


def test_batch_1_stays_pocket_tts_own_and_a_choice_made_stays_made():
    single = Synthesis(model=ModelOptions(decoder="bf16", decoder_int8=True, seanet_int8=True), batch_size=1).on(AMX).model
    assert single.numerics == {"backbone": "int8", "decoder": "fp32", "decoder_linears": "fp32", "decoder_convs": "fp32"}
    forced = Synthesis(model=ModelOptions(decoder="fp32", decoder_int8=True, seanet_int8=True)).on(AMX)
    assert forced.model.numerics == {"backbone": "int8", "decoder": "fp32", "decoder_linears": "int8",
                                     "decoder_convs": "int8"}
    assert forced.on(AVX2) == forced  # settled options stay as they are on any CPU


def test_a_worker_refuses_unsettled_formats(small_model):
    from pocket_batch.synth.pool.worker import SynthWorker

    with pytest.raises(ValueError, match="settled"):
        SynthWorker(ModelOptions(config=small_model), batch_size=2)


def test_each_numeric_path_has_its_own_fingerprint(small_model):
    paths = [ModelOptions(config=small_model, decoder=decoder, decoder_int8=int8, seanet_int8=convs)
             for decoder in ("fp32", "bf16") for int8 in (False, True) for convs in (False, True)]
    assert len({ModelSource(options).fingerprint for options in paths}) == 8
