"""Choosing a recognizer: the rest of the code asks for one here and never knows which it got."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pocket_batch.core.config import VerifyOptions
from pocket_batch.verify.hearing import Backend
from pocket_batch.verify.words import words

# Settings that change a verdict: with the backend's own fingerprint, they name the verdicts' folder.
JUDGED_WITH = ("max_wer", "max_misfit", "max_word_misfit")
JUDGE_VERSION = 1  # raised when verify/judge.py decides differently, so stored verdicts are heard again


def make_backend(options: VerifyOptions, texts: Iterable[str] = ()) -> Backend:
    """`texts`: everything the run will verify, in run order; a backend may listen for these words above others."""
    if options.backend == "whisper":
        from pocket_batch.verify.whisper import WhisperBackend

        return WhisperBackend(options.whisper_model)
    from pocket_batch.verify.sphinx import SphinxBackend

    return SphinxBackend(tuple(dict.fromkeys(s for s in (" ".join(words(t)) for t in texts) if s)))


def verdicts_fingerprint(backend: Backend, options: VerifyOptions) -> str:
    judged = repr([JUDGE_VERSION] + [getattr(options, name) for name in JUDGED_WITH])
    return f"{backend.name}-" + hashlib.sha256(f"{backend.fingerprint} {judged}".encode()).hexdigest()[:12]


def check_backend(options: VerifyOptions) -> None:
    """One line, before anything is written, if the chosen recognizer cannot run here."""
    if options.backend == "whisper":
        from pocket_batch.verify.whisper import whisper_snapshot

        whisper_snapshot(options.whisper_model)


def hears(options: VerifyOptions, language: str | None) -> bool:
    """Whether the chosen recognizer can verify a book in this language (None: English, as ingest assumes)."""
    if options.backend == "whisper":
        from pocket_batch.verify.whisper import whisper_languages

        languages = whisper_languages(options.whisper_model)
    else:
        from pocket_batch.verify.sphinx import SphinxBackend

        languages = SphinxBackend.languages
    return (language or "en")[:2].lower() in languages
