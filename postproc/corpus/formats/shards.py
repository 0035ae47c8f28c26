"""Audio shards (tar, Parquet): each split's rows in order, cut every `--shard-size` rows or bytes.

A shard is named by its split and number and fingerprinted by its rows (ids, takes, WAV digests, texts,
scores). `index.json` keeps each shard's fingerprint: a shard whose rows are what they were is not
written again, so appending rows to a million-row corpus writes its last shard and the new ones only.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import write_json
from pocket_batch.postproc.corpus.formats.base import Format, remove_unwritten

UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
SHARD_FORMAT = 1  # part of every fingerprint: a change of what a shard holds rewrites them all


def shard_limits(text: str) -> tuple[int | None, int | None]:
    """--shard-size: a number of rows ("1000") or of bytes of audio ("500MB", "1GiB")."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*", text, re.I)
    if not found or float(found.group(1)) <= 0:
        raise PocketBatchError(f"--shard-size {text!r}: a number of rows (1000) or of bytes (500MB, 1GiB)")
    unit = (found.group(2) or "").lower()
    if not unit:
        return int(float(found.group(1))), None
    return None, int(float(found.group(1)) * UNITS[unit])


class Sharded(Format):
    suffix = ""

    def __enter__(self) -> Sharded:
        self.rows_limit, self.bytes_limit = shard_limits(self.config.shard_size)
        try:
            self.index = json.loads((self.root / "index.json").read_text(encoding="utf-8"))["shards"]
        except (OSError, ValueError, KeyError, TypeError):
            self.index = {}
        self.pending: dict[str, list[dict]] = {}
        self.sizes: dict[str, int] = {}
        self.numbers: dict[str, int] = {}
        self.shards: dict[str, dict] = {}
        return self

    def add(self, row: dict) -> None:
        split = row["split"]
        rows = self.pending.setdefault(split, [])
        size = 44 + 2 * row["samples"]
        if rows and self.bytes_limit and self.sizes[split] + size > self.bytes_limit:
            self._flush(split)
            rows = self.pending[split]
        rows.append(row)
        self.sizes[split] = self.sizes.get(split, 0) + size
        if self.rows_limit and len(rows) >= self.rows_limit:
            self._flush(split)

    def _flush(self, split: str) -> None:
        rows = self.pending[split]
        number = self.numbers.get(split, 0)
        name = f"{split}/{split}-{number:06d}{self.suffix}"
        digest = hashlib.sha256(str(SHARD_FORMAT).encode())
        for row in rows:
            digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
        fingerprint = digest.hexdigest()
        path = self.root / name
        if self.index.get(name, {}).get("fingerprint") != fingerprint or not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.write_shard(path, rows)
        self.shards[name] = {"rows": len(rows), "bytes": self.sizes[split], "fingerprint": fingerprint}
        self.numbers[split], self.pending[split], self.sizes[split] = number + 1, [], 0

    def write_shard(self, path: Path, rows: list[dict]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        for split, rows in list(self.pending.items()):
            if rows:
                self._flush(split)
        remove_unwritten(self.root, set(self.shards), f"*/*{self.suffix}")
        for folder in self.root.glob("*/"):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        write_json(self.root / "index.json", {"shard_size": self.config.shard_size, "shards": self.shards})
