"""Prompts for corpora: one Utterance per CSV row or per line of a text file, every bad row refused with its
line number."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from pocket_batch.ingest.text import read_text_file
from pocket_batch.core.errors import PocketBatchError

DELIMITERS = ",;|\t"
MAX_ID_BYTES = 100  # an id is a file name: counted in UTF-8 bytes, as file systems count (255 at most)
RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)
MAX_REPORTED = 8


@dataclass(frozen=True)
class Utterance:
    id: str
    text: str
    voice: str | None = None
    row: int = 0  # line where the record starts


def read_csv(path: Path, id_column: str = "id", text_column: str = "text",
             voice_column: str | None = None) -> list[Utterance]:
    text = read_text_file(path)
    if not text.strip():
        raise PocketBatchError(f"{path}: empty CSV")
    delimiter = _delimiter(text)
    header_line = text.splitlines()[0].split(delimiter)
    header = [h.strip().strip('"').lower() for h in header_line]
    if id_column.lower() in header and text_column.lower() in header:
        rows = _records(path, text, delimiter, csv.QUOTE_MINIMAL)
        names = [h.strip().lower() for h in rows[0][1]]
        rows = rows[1:]
        columns = (names.index(id_column.lower()), names.index(text_column.lower()))
        voice_at = _voice_index(path, names, voice_column)
    elif delimiter == "|" and len(header_line) in (2, 3):
        # LJSpeech metadata: id|text|normalized, no header, no quoting; we normalize the text ourselves.
        rows = _records(path, text, delimiter, csv.QUOTE_NONE)
        names, columns, voice_at = ["id", "text", "normalized"], (0, 1), None
    else:
        raise PocketBatchError(f"{path}: no header naming the {id_column!r} and {text_column!r} columns "
                               "(or an LJSpeech id|text|normalized file)")
    utterances = [_utterance(path, line, fields, names, columns, voice_at) for line, fields in rows]
    check_utterances(path, utterances)
    return utterances


def read_prompts(path: Path, id_column: str = "id", text_column: str = "text",
                 voice_column: str | None = None) -> list[Utterance]:
    """A CSV (or LJSpeech metadata), or a text file of one sentence a line (blank lines and lines starting with
    # skipped), each line's id its line number: `line-000042`."""
    if path.suffix.lower() != ".txt":
        return read_csv(path, id_column, text_column, voice_column)
    text = read_text_file(path)
    utterances = [Utterance(f"line-{n:06d}", " ".join(line.split()), row=n)
                  for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.lstrip().startswith("#")]
    check_utterances(path, utterances)
    return utterances


def _delimiter(text: str) -> str:
    first = text.splitlines()[0]
    return max(DELIMITERS, key=lambda d: (first.count(d), -DELIMITERS.index(d)))


def _voice_index(path: Path, names: list[str], voice_column: str | None) -> int | None:
    if voice_column is None:
        return None
    if voice_column.lower() not in names:
        raise PocketBatchError(f"{path}: no {voice_column!r} column for voices (columns: {', '.join(names)})")
    return names.index(voice_column.lower())


def _records(path: Path, text: str, delimiter: str, quoting: int) -> list[tuple[int, list[str]]]:
    """(starting line, fields) per record; a record swallowing later lines is an error, not a merge."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    records, line = [], 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                records.append((line, fields))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise PocketBatchError(f"{path}: row {line}: {exc} (an unbalanced quote?)") from None
    width = len(records[0][1]) if records else 0
    for start, fields in records:
        if len(fields) != width:
            raise PocketBatchError(f"{path}: row {start}: {len(fields)} fields where the header has {width}")
        for field in fields:
            if "\n" in field and any(_looks_like_record(part, delimiter, quoting, width)
                                     for part in field.split("\n")[1:]):
                raise PocketBatchError(f"{path}: row {start}: a quoted field runs over several lines that look "
                                       "like records of their own (an unbalanced quote?)")
    return records


def _looks_like_record(line: str, delimiter: str, quoting: int, width: int) -> bool:
    try:
        return len(next(csv.reader([line], delimiter=delimiter, quoting=quoting), [])) == width
    except csv.Error:
        return False


def _utterance(path, line, fields, names, columns, voice_at) -> Utterance:
    voice = fields[voice_at].strip() or None if voice_at is not None else None
    return Utterance(fields[columns[0]].strip(), " ".join(fields[columns[1]].split()), voice, line)


def unsafe_id_reason(uid: str) -> str | None:
    if not uid:
        return "empty id"
    if len(uid.encode("utf-8")) > MAX_ID_BYTES:
        return f"id longer than {MAX_ID_BYTES} bytes in UTF-8 (file names are limited in bytes)"
    if "/" in uid or "\\" in uid:
        return "id contains a path separator"
    if uid in (".", "..") or ".." in uid:
        return "id contains '..'"
    if any(ord(c) < 32 or ord(c) == 127 for c in uid):
        return "id contains control characters"
    if RESERVED.match(uid) or uid.endswith((".", " ")) or uid.startswith(("-", ".")):
        return "id is a reserved or unsafe file name"
    if re.match(r"^[A-Za-z]:", uid):
        return "id is an absolute path"
    return None


def check_utterances(path: Path, utterances: list[Utterance]) -> None:
    """Duplicate ids, empty text and ids unsafe as file names, all reported at once with rows."""
    problems, first_row = [], {}
    for u in utterances:
        reason = unsafe_id_reason(u.id)
        if reason:
            problems.append(f"row {u.row}: {reason} ({u.id[:40]!r})")
        if u.id in first_row:
            problems.append(f"row {u.row}: duplicate id {u.id!r} (first at row {first_row[u.id]})")
        first_row.setdefault(u.id, u.row)
        if not u.text:
            problems.append(f"row {u.row}: empty text")
    if not utterances:
        problems.append("no rows")
    if problems:
        more = f"; and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
        raise PocketBatchError(f"{path}: {'; '.join(problems[:MAX_REPORTED])}{more}")
