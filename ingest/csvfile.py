"""Prompts for corpora: one Utterance per CSV row or per line of a text file, read as a stream, every bad row
refused with its line number."""

from __future__ import annotations

import csv
import hashlib
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocket_batch.ingest.text import text_encoding
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
    normalized: str | None = None  # already normalized (sentences cut from a book by ingest)


class Prompts:
    """A prompt file read as a stream, for it may hold millions of rows: a CSV with a header naming the id and text
    columns (any of , ; | tab), LJSpeech metadata (id|text|normalized, no header, no quoting), or a .txt of one
    sentence a line (blank lines and lines starting with # skipped, each line's id its number: `line-000042`).

    `check()` reads it once and refuses every bad row at once; iterating reads it again, row by row."""

    def __init__(self, path: Path, id_column: str = "id", text_column: str = "text", voice_column: str | None = None):
        self.path, self.voice_column = path, voice_column
        self.encoding = text_encoding(path)
        first = self._first_line()
        self.lines = path.suffix.lower() == ".txt"
        if self.lines:
            return
        if not first.strip():
            raise PocketBatchError(f"{path}: empty CSV")
        self.delimiter = max(DELIMITERS, key=lambda d: (first.count(d), -DELIMITERS.index(d)))
        fields = first.split(self.delimiter)
        header = [h.strip().strip('"').lower() for h in fields]
        if id_column.lower() in header and text_column.lower() in header:
            self.quoting, self.header = csv.QUOTE_MINIMAL, True
            names = [h.strip().lower() for h in next(csv.reader([first], delimiter=self.delimiter))]
            self.columns = (names.index(id_column.lower()), names.index(text_column.lower()))
            self.voice_at = _voice_index(path, names, voice_column)
        elif self.delimiter == "|" and len(fields) in (2, 3):
            # LJSpeech metadata: we normalize the text ourselves.
            self.quoting, self.header, self.columns, self.voice_at = csv.QUOTE_NONE, False, (0, 1), None
        else:
            raise PocketBatchError(f"{path}: no header naming the {id_column!r} and {text_column!r} columns "
                                   "(or an LJSpeech id|text|normalized file)")
        self.width = len(next(csv.reader([first], delimiter=self.delimiter, quoting=self.quoting)))

    def _first_line(self) -> str:
        with self._open() as f:
            return f.readline().rstrip("\r\n")

    def _open(self):
        return self.path.open(encoding=self.encoding, newline="")

    def __iter__(self) -> Iterator[Utterance]:
        try:
            yield from self._lines() if self.lines else self._records()
        except UnicodeDecodeError as exc:
            raise PocketBatchError(f"{self.path}: undecodable text ({self.encoding}, byte {exc.start} of a block)") from None

    def _lines(self) -> Iterator[Utterance]:
        with self._open() as f:
            for n, line in enumerate(f, start=1):
                if line.strip() and not line.lstrip().startswith("#"):
                    yield Utterance(f"line-{n:06d}", " ".join(line.split()), row=n)

    def _records(self) -> Iterator[Utterance]:
        """One Utterance per record; a record swallowing later lines is an error, not a merge."""
        with self._open() as f:
            reader = csv.reader(f, delimiter=self.delimiter, quoting=self.quoting, strict=True)
            line, skip = 1, self.header
            try:
                for fields in reader:
                    start, line = line, reader.line_num + 1
                    if skip or not any(x.strip() for x in fields):
                        skip = False
                        continue
                    yield self._utterance(start, fields)
            except csv.Error as exc:
                raise PocketBatchError(f"{self.path}: row {line}: {exc} (an unbalanced quote?)") from None

    def _utterance(self, start: int, fields: list[str]) -> Utterance:
        if len(fields) != self.width:
            raise PocketBatchError(f"{self.path}: row {start}: {len(fields)} fields where the header has {self.width}")
        for value in fields:
            if "\n" in value and any(self._looks_like_record(part) for part in value.split("\n")[1:]):
                raise PocketBatchError(f"{self.path}: row {start}: a quoted field runs over several lines that look "
                                       "like records of their own (an unbalanced quote?)")
        voice = (fields[self.voice_at].strip() or None) if self.voice_at is not None else None
        return Utterance(fields[self.columns[0]].strip(), " ".join(fields[self.columns[1]].split()), voice, start)

    def _looks_like_record(self, line: str) -> bool:
        try:
            return len(next(csv.reader([line], delimiter=self.delimiter, quoting=self.quoting), [])) == self.width
        except csv.Error:
            return False

    def check(self, more: Callable[[Utterance], str | None] | None = None) -> int:
        """The number of rows, once every row is known good: duplicate ids, empty text, ids unsafe as file names
        and `more`'s problems, reported at once with their rows. Ids are remembered as 8-byte hashes (8 MB for a
        million rows); a second pass names a duplicate's rows."""
        problems, count, hashes = Problems(self.path), 0, array("Q")
        for u in self:
            count += 1
            problems.add(u.row, unsafe_id_reason(u.id), u.id)
            problems.add(u.row, None if u.text else "empty text")
            if more and u.text:
                problems.add(u.row, more(u))
            hashes.append(_id_hash(u.id))
        if not count:
            problems.add(None, "no rows")
        for uid, rows in self._duplicates(hashes).items():
            for row in rows[1:]:
                problems.add(row, f"duplicate id {uid!r} (first at row {rows[0]})")
        problems.raise_any()
        return count

    def _duplicates(self, hashes: array) -> dict[str, list[int]]:
        ordered = np.sort(np.frombuffer(hashes, dtype=np.uint64))
        twice = set(ordered[1:][ordered[1:] == ordered[:-1]].tolist())
        if not twice:
            return {}
        rows: dict[str, list[int]] = {}
        for u in self:
            if _id_hash(u.id) in twice:
                rows.setdefault(u.id, []).append(u.row)
        return {uid: found for uid, found in rows.items() if len(found) > 1}


class Problems:
    """Bad rows of one file, each with its row, said in one line: the first few, and how many more."""

    def __init__(self, path: Path):
        self.path, self.found, self.count = path, [], 0

    def add(self, row: int | None, reason: str | None, uid: str | None = None) -> None:
        if reason is None:
            return
        self.count += 1
        if len(self.found) < MAX_REPORTED:
            where = f"row {row}: " if row is not None else ""
            self.found.append((row or 0, f"{where}{reason}" + (f" ({uid[:40]!r})" if uid is not None else "")))

    def raise_any(self) -> None:
        if self.count:
            more = f"; and {self.count - MAX_REPORTED} more" if self.count > MAX_REPORTED else ""
            raise PocketBatchError(f"{self.path}: {'; '.join(m for _, m in sorted(self.found))}{more}")


def _id_hash(uid: str) -> int:
    return int.from_bytes(hashlib.blake2b(uid.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def read_prompts(path: Path, id_column: str = "id", text_column: str = "text",
                 voice_column: str | None = None) -> list[Utterance]:
    """Every row of a small prompt file, checked."""
    prompts = Prompts(path, id_column, text_column, voice_column)
    prompts.check()
    return list(prompts)


def read_csv(path: Path, id_column: str = "id", text_column: str = "text",
             voice_column: str | None = None) -> list[Utterance]:
    if path.suffix.lower() == ".txt":
        raise PocketBatchError(f"{path}: a text file, not a CSV")
    return read_prompts(path, id_column, text_column, voice_column)


def _voice_index(path: Path, names: list[str], voice_column: str | None) -> int | None:
    if voice_column is None:
        return None
    if voice_column.lower() not in names:
        raise PocketBatchError(f"{path}: no {voice_column!r} column for voices (columns: {', '.join(names)})")
    return names.index(voice_column.lower())


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
