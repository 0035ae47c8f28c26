"""Plain text files: decoded, split into paragraphs (blank lines) under one chapter."""

from __future__ import annotations

import re
from pathlib import Path

from pocket_batch.pipeline.errors import PocketBatchError


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PocketBatchError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PocketBatchError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
