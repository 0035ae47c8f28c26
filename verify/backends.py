"""Choosing a recognizer: the rest of the code asks for one here and never knows which it got."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pocket_batch.core.config import VerifyOptions
from pocket_batch.verify.hearing import Backend
from pocket_batch.verify.words import words

# Settings that change a verdict: with the backend's own fingerprint, they name the verdicts' folder.
# (The gates' thresholds are not among them: they judge stored measures anew on every run.)
JUDGED_WITH = ("max_wer", "max_misfit", "max_word_misfit", "checks")
JUDGE_VERSION = 3  # raised when verify/judge.py or what verify/sound.py measures changes, so takes are heard again


def make_backend(options: VerifyOptions, texts: Iterable[str] = ()) -> Backend:
    """`texts`: everything the run will verify, in run order; a backend may listen for these words above others."""
    if options.backend == "whisper":
        from pocket_batch.verify.whisper import WhisperBackend

        return WhisperBackend(options.whisper_model)
    from pocket_batch.verify.sphinx import SphinxBackend

    return SphinxBackend(tuple(dict.fromkeys(s for s in (" ".join(words(t)) for t in texts) if s)))


def verdicts_fingerprint(backend: Backend | None, options: VerifyOptions) -> str:
    """Names the folder of stored verdicts: the recognizer (none when words are not checked) and the settings."""
    judged = repr([JUDGE_VERSION] + [list(getattr(options, name)) if name == "checks" else getattr(options, name)
                                     for name in JUDGED_WITH])
    name, fingerprint = (backend.name, backend.fingerprint) if backend else ("measured", "")
    return f"{name}-" + hashlib.sha256(f"{fingerprint} {judged}".encode()).hexdigest()[:12]


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
