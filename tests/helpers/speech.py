"""The real-speech fixtures (tests/fixtures/speech, made by its make_fixtures.py), read for tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SPEECH = Path(__file__).parents[1] / "fixtures" / "speech"


@dataclass(frozen=True)
class Utterance:
    key: str
    text: str
    audio: np.ndarray
    rate: int


def utterances(name: str) -> list[Utterance]:
    folder = SPEECH / name
    out = []
    for line in (folder / "metadata.csv").read_text(encoding="utf-8").splitlines():
        key, text = line.split("|")[:2]
        audio, rate = sf.read(folder / "wavs" / f"{key}.wav", dtype="float32")
        out.append(Utterance(key, text, audio, rate))
    return out


def espeak_word_bounds() -> dict[str, list[tuple[str, float, float]]]:
    """Each text word, and where espeak-ng said it starts and ends (seconds), as it spoke."""
    return json.loads((SPEECH / "espeak" / "word_bounds.json").read_text())
