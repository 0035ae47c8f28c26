"""Verdicts on disk, by audio key under the fingerprint of the backend and settings that made them.

A rerun with the same recognizer finds every verdict and hears nothing again; another
backend or threshold looks in another folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from pocket_batch.core.files import write_json
from pocket_batch.core.records import Verdict, WordTime


class VerdictStore:
    def __init__(self, root: Path, fingerprint: str):
        self.root = root / fingerprint

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Verdict | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            return Verdict(**data | {"flags": tuple(data["flags"]),
                                     "words": tuple(WordTime(*w) for w in data["words"])})
        except (OSError, ValueError, TypeError, KeyError):  # absent or unreadable: heard again
            return None

    def put(self, key: str, verdict: Verdict) -> None:
        data = asdict(verdict) | {"words": [[w.word, w.start, w.end] for w in verdict.words]}
        write_json(self._path(key), data)
