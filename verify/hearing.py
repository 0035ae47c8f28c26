"""What a recognizer made of one chunk: the interface every backend fills, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Span:
    """A stretch of the audio the aligner gave to one text word, or to a pause between words (word "")."""

    word: str
    start: float  # seconds from the start of the audio
    end: float
    # How much worse the text fits this stretch than free recognition does (natural log per 10 ms frame,
    # 0 = as well); None when the backend cannot tell.
    misfit: float | None = None


@dataclass(frozen=True)
class Hearing:
    transcript: list[str]  # free recognition, normalized words
    spans: list[Span] | None  # the text forced onto the audio, in order; None: the text would not align
    misfit: float | None = None  # the whole text's misfit, per frame of speech


class Backend(Protocol):
    name: str
    fingerprint: str  # changes whenever its results could: verdicts are cached under it
    languages: tuple[str, ...]  # ISO 639-1 codes it can hear
    max_wer: float  # its default: how often it mishears correct speech

    def check(self) -> None:
        """Raise PocketBatchError, in one line, if this backend cannot run here (before any work starts)."""
        ...

    def hear(self, audio: np.ndarray, rate: int, text: list[str], max_wer: float) -> Hearing:
        """Transcribe `audio` (float32 mono) and align the normalized `text` words to it; a backend may skip
        the alignment (spans None) when the transcript's word error rate is over `max_wer`: the chunk
        fails whatever the alignment says."""
        ...
