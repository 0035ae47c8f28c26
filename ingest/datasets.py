"""Existing speech datasets, whoever made them: each recording with its transcript, for `pocket-batch verify`.

    LJSpeech      metadata.csv (id|text|normalized, no header) and wavs/<id>.wav
    audiofolder   metadata.jsonl or metadata.csv (file_name and a text column), in the folder
                  or in each split's subfolder (train/, validation/, test/)

The normalized column is preferred where there is one: it is what was spoken.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from pocket_batch.core.errors import PocketBatchError

TEXT_COLUMNS = ("transcription", "normalized_text", "normalized", "text", "sentence", "transcript")


@dataclass(frozen=True)
class Recording:
    id: str  # as the metadata names it
    text: str
    audio: Path
    where: str  # the metadata file and line, for messages


def read_dataset(folder: Path) -> list[Recording]:
    if not folder.is_dir():
        raise PocketBatchError(f"{folder}: not a folder")
    lj = folder / "metadata.csv"
    if lj.is_file() and (folder / "wavs").is_dir() and "file_name" not in _first_line(lj):
        recordings = _ljspeech(lj, folder / "wavs")
    else:
        splits = [folder] if _metadata(folder) else sorted(p for p in folder.iterdir() if p.is_dir() and _metadata(p))
        if not splits:
            raise PocketBatchError(f"{folder}: no dataset here: neither LJSpeech (metadata.csv and wavs/) nor an "
                                   "audiofolder (metadata.jsonl or metadata.csv with a file_name column)")
        recordings = [r for split in splits for r in _audiofolder(_metadata(split))]
    if not recordings:
        raise PocketBatchError(f"{folder}: the metadata lists no recordings")
    missing = [r for r in recordings if not r.audio.is_file()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise PocketBatchError(f"{missing[0].where}: {missing[0].audio} not found{more}")
    return recordings


def _first_line(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.readline()


def _metadata(folder: Path) -> Path | None:
    for name in ("metadata.jsonl", "metadata.csv"):
        path = folder / name
        if path.is_file() and (name.endswith(".jsonl") or "file_name" in _first_line(path)):
            return path
    return None


def _ljspeech(metadata: Path, wavs: Path) -> list[Recording]:
    recordings = []
    for n, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2 or not fields[0] or not fields[-1].strip():
            raise PocketBatchError(f"{metadata} line {n}: expected id|text or id|text|normalized")
        text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
        recordings.append(Recording(fields[0], text, wavs / f"{fields[0]}.wav", f"{metadata} line {n}"))
    return recordings


def _audiofolder(metadata: Path) -> list[Recording]:
    if metadata.suffix == ".jsonl":
        rows = []
        for n, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((n, json.loads(line)))
                except ValueError:
                    raise PocketBatchError(f"{metadata} line {n}: not JSON") from None
    else:
        with open(metadata, encoding="utf-8", newline="") as f:
            rows = list(enumerate(csv.DictReader(f), start=2))
    recordings = []
    for n, row in rows:
        column = next((c for c in TEXT_COLUMNS if row.get(c)), None)
        if "file_name" not in row or column is None:
            raise PocketBatchError(f"{metadata} line {n}: needs file_name and a text column ({', '.join(TEXT_COLUMNS)})")
        recordings.append(Recording(row["file_name"], row[column], metadata.parent / row["file_name"],
                                    f"{metadata} line {n}"))
    return recordings
