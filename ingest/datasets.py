"""Existing speech datasets, whoever made them: each recording with its transcript, for `pocket-batch verify`.

    LJSpeech      metadata.csv (id|text|normalized, no header) and wavs/<id>.wav
    audiofolder   metadata.jsonl or metadata.csv (file_name and a text column), in the folder
                  or in each split's subfolder (train/, validation/, test/)

The normalized column is preferred where there is one: it is what was spoken.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from pocket_batch.core.errors import PocketBatchError

TEXT_COLUMNS = ("transcription", "normalized_text", "normalized", "text", "sentence", "transcript")
SPEAKER_COLUMNS = ("speaker", "speaker_id", "voice")  # whose voice a row is, where the metadata says


@dataclass(frozen=True)
class Recording:
    id: str  # as the metadata names it
    text: str
    audio: Path
    where: str  # the metadata file and line, for messages
    speaker: str = ""  # whose voice: its speaker column, else the folder its audio is in (the quality gates' group)


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


def _text(metadata: Path) -> str:
    try:
        return metadata.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = metadata.read_bytes()[:exc.start].count(b"\n") + 1
        raise PocketBatchError(f"{metadata} line {line}: not UTF-8 text (save the metadata as UTF-8)") from None


def _ljspeech(metadata: Path, wavs: Path) -> list[Recording]:
    recordings = []
    for n, line in enumerate(_text(metadata).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2 or not fields[0] or not fields[-1].strip():
            raise PocketBatchError(f"{metadata} line {n}: expected id|text or id|text|normalized")
        text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
        where = f"{metadata} line {n}"
        audio = _inside(wavs, f"{fields[0]}.wav", where)
        recordings.append(Recording(fields[0], text, audio, where, _folder(wavs, audio, metadata.parent.name)))
    return recordings


def _audiofolder(metadata: Path) -> list[Recording]:
    text = _text(metadata)
    if metadata.suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((n, json.loads(line)))
                except ValueError:
                    raise PocketBatchError(f"{metadata} line {n}: not JSON") from None
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows, start = [], 2
        try:
            for row in reader:
                rows.append((start, row))
                start = reader.line_num + 1
        except csv.Error as exc:  # an unclosed quote runs on until the field limit
            raise PocketBatchError(f"{metadata} line {start}: not CSV ({exc}; an unclosed quote?)") from None
    recordings = []
    for n, row in rows:
        where = f"{metadata} line {n}"
        if not isinstance(row, dict):
            raise PocketBatchError(f"{where}: each line is a JSON object with file_name and a text column")
        column = next((c for c in TEXT_COLUMNS if row.get(c)), None)
        if not isinstance(row.get("file_name"), str) or column is None or not isinstance(row[column], str):
            raise PocketBatchError(f"{where}: needs file_name and a text column ({', '.join(TEXT_COLUMNS)}), "
                                   "both text")
        audio = _inside(metadata.parent, row["file_name"], where)
        speaker = next((str(row[c]) for c in SPEAKER_COLUMNS if row.get(c) not in (None, "")), None)
        recordings.append(Recording(row["file_name"], row[column], audio, where,
                                    speaker or _folder(metadata.parent, audio, metadata.parent.name)))
    return recordings


def _folder(root: Path, audio: Path, name: str) -> str:
    """The folder of a recording, relative to `root`: `alba` for a corpus's voice folders; `name` for `root`."""
    return audio.parent.relative_to(root).as_posix() if audio.parent != root else name


def _inside(folder: Path, name: str, where: str) -> Path:
    """A recording the metadata names: a file inside the dataset's folder, never a path out of it."""
    path = folder / name
    if Path(name).is_absolute() or not path.resolve().is_relative_to(folder.resolve()):
        raise PocketBatchError(f"{where}: {name!r} is not a file inside {folder}")
    return path
