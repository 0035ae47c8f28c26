"""A run's recognizer and its verdict store: a verdict is looked up first, and heard and measured only once.

The backend is built once, when the run knows every text it will verify (a backend may listen
for those words above others); in-process workers hear with this same backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from pocket_batch.core.config import SAMPLE_RATE, VerifyOptions
from pocket_batch.core.records import Verdict
from pocket_batch.verify.backends import make_backend, verdicts_fingerprint
from pocket_batch.verify.judge import verify_audio
from pocket_batch.verify.store import VerdictStore

ReadAudio = Callable[[str], np.ndarray]  # a take's samples by its key, read only when it must be heard


class Verifier:
    def __init__(self, options: VerifyOptions, root: Path, texts: Iterable[str] = ()):
        self.options = options
        self.backend = make_backend(options, texts) if "words" in options.checks else None  # None: words unchecked
        self.store = VerdictStore(root, verdicts_fingerprint(self.backend, options))

    def verdict(self, key: str, text: str, read: ReadAudio) -> Verdict:
        """The stored verdict, or one made here (for audio synthesized before verification was on)."""
        if found := self.store.get(key):
            return found
        verdict = verify_audio(self.backend, read(key), SAMPLE_RATE, text, self.options)
        self.store.put(key, verdict)
        return verdict
