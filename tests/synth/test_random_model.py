"""The offline model: real pocket-tts architecture and load path, random weights."""

from __future__ import annotations

import numpy as np
import safetensors.torch
import sentencepiece as spm
import torch
import yaml

from pocket_batch.synth.random_model import PUNCTUATION
from pocket_batch.synth.voices import preset_names


def test_loads_through_pocket_tts_load_model(small_model):
    from pocket_tts import TTSModel

    model = TTSModel.load_model(config=str(small_model))
    saved = safetensors.torch.load_file(yaml.safe_load(small_model.read_text())["weights_path"])
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    # pocket-tts makes speaker_proj_weight zeros; ours must be random or every voice is the same.
    assert model.flow_lm.speaker_proj_weight.abs().sum() > 0


def test_tokenizer_matches_config_and_keeps_punctuation(small_model):
    config = yaml.safe_load(small_model.read_text())
    table = config["flow_lm"]["lookup_table"]
    sp = spm.SentencePieceProcessor(table["tokenizer_path"])
    assert sp.vocab_size() == table["n_bins"]
    for mark in PUNCTUATION:
        assert len(sp.encode(mark)) == 2 and sp.id_to_piece(sp.encode(mark)[-1]) == mark


def test_every_preset_has_a_voice_state_and_generation_runs_to_max_length(small_model):
    from pocket_tts import TTSModel

    voices = small_model.parent / "voices"
    assert sorted(p.stem for p in voices.glob("*.safetensors")) == preset_names()
    model = TTSModel.load_model(config=str(small_model))
    state = model.get_state_for_audio_prompt(str(voices / "alba.safetensors"))
    text = "It was the best of times."
    audio = model.generate_audio(state, text).numpy()
    tokens = model.flow_lm.conditioner.prepare(text).shape[1]
    assert np.isfinite(audio).all() and audio.std() > 0
    # EOS disabled: every chunk runs to pocket-tts's max length, tokens/3 + 2 s.
    assert audio.size == model._estimate_max_gen_len(tokens) * 1920
