"""Verdicts on disk, by audio key under the fingerprint of the backend and settings that made them.

A rerun with the same recognizer finds every verdict and hears nothing again; another
backend or threshold looks in another folder.
"""

from __future__ import annotations

from pathlib import Path

from pocket_batch.core.files import read_record, write_record
from pocket_batch.core.layout import fingerprint_folder, key_path
from pocket_batch.core.records import Verdict


class VerdictStore:
    def __init__(self, root: Path, fingerprint: str):
        self.root = fingerprint_folder(root, fingerprint)

    def _path(self, key: str) -> Path:
        return key_path(self.root, key, ".json")

    def get(self, key: str) -> Verdict | None:
        try:
            return read_record(self._path(key), Verdict)
        except (OSError, ValueError):  # absent or unreadable: heard again
            return None

    def put(self, key: str, verdict: Verdict) -> None:
        write_record(self._path(key), verdict)
