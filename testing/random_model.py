"""The offline model: Pocket TTS's real architecture with random weights.

No machine of this project reaches Hugging Face, so tests and benchmarks build
the model themselves: a pocket-tts config, randomly initialized, saved as local
safetensors with a locally trained sentencepiece tokenizer, and loaded through
the same `TTSModel.load_model(config=...)` path as the released weights. It
speaks noise, at exactly the cost of the real model.
"""

from __future__ import annotations

import io
import os
import random
import re
from pathlib import Path

import numpy as np
import yaml

from pocket_batch.core.config import NEVER_EOS, SAMPLE_RATE
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import atomic_open, atomic_path

ARCHES = ("english", "english_2m_2026-10")  # full size (benchmarks) and small (tests)
TRAINING_SENTENCES = 8000  # 1.58 tokens a word of held-out prose at 5,000 sentences, 1.55 at 20,000 (4,000 pieces)
VOCABULARY = 30_000  # the most frequent English words the training text draws from
VOICE_SECONDS = 3.0


def make_random_model(directory: Path, arch: str = "english_2m_2026-10", seed: int = 0) -> Path:
    """Build the model in `directory`; return the path of its config.yaml."""
    from pocket_batch.synth.fast.internals import config_class, configs_dir

    if arch not in ARCHES:
        raise PocketBatchError(f"unknown arch {arch!r}: choose one of {', '.join(ARCHES)}")
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((configs_dir() / f"{arch}.yaml").read_text())
    n_bins = spec["flow_lm"]["lookup_table"]["n_bins"]
    tokenizer = directory / "tokenizer.model"
    train_tokenizer(tokenizer, n_bins, seed)
    weights = directory / "model.safetensors"
    spec = _local_spec(spec, tokenizer, weights)
    _save_random_weights(config_class()(**spec), weights, seed)
    config_path = directory / "config.yaml"
    with atomic_open(config_path) as f:
        f.write(f"# Random {arch} weights made by pocket-batch: noise, for tests and benchmarks.\n")
        yaml.safe_dump(spec, f, sort_keys=False)
    _make_preset_voices(config_path, directory / "voices")
    return config_path


def _local_spec(spec: dict, tokenizer: Path, weights: Path) -> dict:
    spec = dict(spec)
    spec.pop("weights_path_without_voice_cloning", None)
    spec["weights_path"] = str(weights)
    spec["default_eos_threshold"] = NEVER_EOS
    lookup = spec["flow_lm"]["lookup_table"]
    lookup["tokenizer"] = "sentencepiece"
    lookup["tokenizer_path"] = str(tokenizer)
    return spec


def train_tokenizer(target: Path, vocab_size: int, seed: int) -> None:
    """A unigram sentencepiece model of exactly `vocab_size` pieces, trained on prose-like English.

    Punctuation is learnt from the text, as single-character pieces, not forced in as user-defined
    symbols: with those, sentencepiece's unigram trainer splits common words ("thi" + "s", "be" + "en")
    and makes about 1.7 tokens a word of prose instead of about 1.6.
    """
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_sentences(seed)),
        input_sentence_size=0,
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        byte_fallback=True,  # any text tokenizes, never to <unk>
        num_threads=1,
        minloglevel=2,
    )
    with atomic_open(target, "wb") as f:
        f.write(model.getvalue())


def training_sentences(seed: int, count: int = TRAINING_SENTENCES) -> list[str]:
    """Prose-like English: sentences of words drawn as often as English uses them (wordfreq's list).

    A tokenizer learns from how often each word occurs, not from their order, so this
    makes about as many tokens per word of prose as one trained on prose: chunk sizes and
    generation lengths (tokens/3 + 2 s) stay realistic. Every mark pocket-tts's splitter
    looks up (. ! ? , ; :) and quotes occur, so each is a piece of its own.
    """
    try:
        import wordfreq
    except ImportError:
        raise PocketBatchError("the random model's tokenizer is trained on wordfreq's English word list: "
                               "pip install wordfreq (it comes with pocket-batch[test])") from None
    frequencies = wordfreq.get_frequency_dict("en")
    words = [w for w in list(frequencies)[:VOCABULARY] if re.fullmatch(r"[a-z]+(?:'[a-z]+)?", w)]
    weights = [frequencies[w] for w in words]
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        drawn = ["I" if w == "i" else w for w in rng.choices(words, weights, k=rng.randint(4, 24))]
        marks = rng.choices(["", ",", ";", ":"], [0.9, 0.08, 0.01, 0.01], k=len(drawn) - 1)
        marks.append(rng.choice("........?!"))
        text = " ".join(word + mark for word, mark in zip(drawn, marks))
        text = text[0].upper() + text[1:]
        sentences.append(f'"{text}"' if rng.random() < 0.1 else text)
    return sentences


def _save_random_weights(config, weights: Path, seed: int) -> None:
    import safetensors.torch
    import torch
    from pocket_batch.synth.fast.internals import build_mimi, model_from_config

    torch.manual_seed(seed)
    model = model_from_config(config, 0.3, NEVER_EOS)
    model.mimi = build_mimi(config.mimi)
    # pocket-tts creates speaker_proj_weight as zeros; zeros would make every voice identical.
    d_model = config.flow_lm.transformer.d_model
    inner = config.mimi.inner_dim or config.mimi.seanet.dimension
    model.flow_lm.speaker_proj_weight = torch.nn.Parameter(torch.randn(d_model, inner) / inner**0.5)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    with atomic_path(weights) as tmp:
        safetensors.torch.save_file(state, str(tmp))


def _make_preset_voices(config_path: Path, voices_dir: Path) -> None:
    """A state for every preset name, from synthetic audio through the real cloning path."""
    import torch

    from pocket_batch.synth.fast.internals import pocket_tts, preset_origins

    tts = pocket_tts()
    model = tts.TTSModel.load_model(config=str(config_path))
    voices_dir.mkdir(exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)  # pocket-tts set one at import: Mimi's encoder takes every core here
    try:
        for name in sorted(preset_origins()):
            audio = torch.from_numpy(synthetic_voice(name))[None, :]
            state = model.get_state_for_audio_prompt(audio)
            with atomic_path(voices_dir / f"{name}.safetensors") as tmp:
                tts.export_model_state(state, tmp)
    finally:
        torch.set_num_threads(threads)


def make_voice_state(config_path: Path, seconds: float, target: Path) -> Path:
    """An exported voice state cloned from `seconds` of synthetic voice: a long prompt for benchmarks."""
    import torch

    from pocket_batch.synth.fast.internals import pocket_tts

    tts = pocket_tts()
    model = tts.TTSModel.load_model(config=str(config_path))
    state = model.get_state_for_audio_prompt(torch.from_numpy(synthetic_voice("bench", seconds))[None, :])
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        tts.export_model_state(state, tmp)
    return target


def synthetic_voice(name: str, seconds: float = VOICE_SECONDS) -> np.ndarray:
    """A deterministic voiced-sounding signal per name: harmonics under a syllable envelope."""
    rng = np.random.default_rng(sum(name.encode()))
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = rng.uniform(90, 240) * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t), 0, None) ** 2
    signal = 0.3 * voiced * envelope + 0.01 * rng.standard_normal(t.size)
    return (signal / np.abs(signal).max() * 0.5).astype(np.float32)
