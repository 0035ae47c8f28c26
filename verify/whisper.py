"""The optional backend: faster-whisper (`pip install "pocket-batch[whisper]"`).

Its weights come from the user's Hugging Face cache, as Pocket TTS's do; it never
downloads them. Whisper does not force-align a given text, so each text word takes
the time of the heard word it matches, and decisions rest on the word error rate.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from pocket_batch.core.audio import resample
from pocket_batch.core.config import MAX_WER
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.verify.hearing import Hearing, Span
from pocket_batch.verify.words import edits, words

RATE = 16_000


class WhisperBackend:
    name = "whisper"
    max_wer = MAX_WER[name]

    def __init__(self, model: str):
        self.model_name = model
        self._model = None
        self.languages = whisper_languages(model)

    @cached_property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"faster-whisper {_version()} {self.model_name}".encode()).hexdigest()[:16]

    def check(self) -> str:
        return whisper_snapshot(self.model_name)

    @property
    def model(self):
        if self._model is None:
            from faster_whisper import WhisperModel

            self._model = WhisperModel(self.check(), device="cpu", compute_type="int8", cpu_threads=1)
        return self._model

    def hear(self, audio: np.ndarray, rate: int, text: list[str], max_wer: float) -> Hearing:
        audio = resample(audio, rate, RATE).astype(np.float32, copy=False)
        segments, _ = self.model.transcribe(audio, beam_size=1, word_timestamps=True, condition_on_previous_text=False,
                                            language=None if len(self.languages) > 1 else "en")
        heard = [(w, word.start, word.end) for seg in segments for word in seg.words or [] for w in words(word.word)]
        transcript = [w for w, _, _ in heard]
        spans = []
        for edit in edits(text, transcript):
            if edit.ref is None:
                continue
            if edit.hyp is not None:
                _, start, end = heard[edit.hyp]
            else:  # not heard: a zero-length span where the previous word ended
                start = end = spans[-1].end if spans else 0.0
            spans.append(Span(text[edit.ref], round(start, 3), round(end, 3)))
        return Hearing(transcript, spans or None, None)


def _version() -> str:
    try:
        return version("faster-whisper")
    except PackageNotFoundError:
        return "absent"


def whisper_snapshot(model: str) -> str:
    """The model's folder in the Hugging Face cache; one line if faster-whisper or the weights are missing."""
    try:
        from faster_whisper.utils import download_model
    except ImportError:
        raise PocketBatchError('--verify-backend whisper needs faster-whisper: pip install "pocket-batch[whisper]"') from None
    try:
        return download_model(model, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises several kinds for a missing snapshot
        raise PocketBatchError(
            f"whisper model {model!r} is not in the Hugging Face cache ({type(exc).__name__}); "
            "fetch it once on a connected machine, or use --verify-backend pocketsphinx") from None


def whisper_languages(model: str) -> tuple[str, ...]:
    """An English-only model (`*.en`) hears English; the others these languages."""
    return ("en",) if model.endswith(".en") else ("en", "fr", "de", "es", "it", "pt", "nl")
