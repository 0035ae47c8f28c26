"""The offline model: real pocket-tts architecture and load path, random weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import safetensors.torch
import sentencepiece as spm
import torch
import yaml

from pocket_batch.synth.model.voices import preset_names


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
    # pocket-tts's splitter drops the first piece of these and takes each mark as a token of its own
    for marks in (".!...?", ",;:"):
        assert sp.encode(marks, out_type=str) == ["▁", *marks]


def test_tokenizer_makes_as_many_tokens_a_word_as_for_prose(small_model):
    """Trained on words drawn by frequency, it splits prose it never saw about as a prose-trained one would."""
    config = yaml.safe_load(small_model.read_text())
    sp = spm.SentencePieceProcessor(config["flow_lm"]["lookup_table"]["tokenizer_path"])
    text = (Path(__file__).parents[1] / "fixtures" / "prose" / "held_out.txt").read_text()
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    per_word = sum(len(sp.encode(p)) for p in paragraphs) / sum(len(p.split()) for p in paragraphs)
    assert 1.3 <= per_word <= 1.65, per_word


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


def test_int8_loads_without_torch_deprecation_warnings(small_model):
    """pocket-tts's int8 goes through torch.ao, deprecated in torch: warnings nobody can act on, one per worker."""
    import warnings

    from pocket_batch.core.config import ModelOptions
    from pocket_batch.synth.fast.internals import pocket_tts
    from pocket_batch.synth.model.source import ModelSource

    def deprecations(load) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load()
        return [str(w.message) for w in caught if "deprecated" in str(w.message)]

    assert deprecations(lambda: pocket_tts().TTSModel.load_model(config=str(small_model), quantize=True))
    assert deprecations(lambda: ModelSource(ModelOptions(config=small_model, quantize=True)).load()) == []
