"""Plain text: encoding detected, chapter headings found, paragraphs split on blank lines."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from pocket_batch.ingest.languages import roman_to_int
from pocket_batch.ingest.structure import Extracted, Para, Section
from pocket_batch.core.errors import PocketBatchError

HEADING = re.compile(
    r"^(chapter|book|part|volume|act|prologue|epilogue|interlude|preface|introduction|afterword)\b"
    r"(\s+([0-9]+|[ivxlcdm]+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"[a-z]+teen|twenty[- a-z]*|thirty[- a-z]*|first|second|third|fourth|fifth|last))?\b[.:]?(\s.*)?$",
    re.IGNORECASE,
)
SCENE_BREAK = re.compile(r"^\s*([*#~\u2022\u00b7-]\s*){3,}$|^\s*\*\s*\*\s*\*\s*$")
CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")  # all but tab, line feed, form feed, carriage return
MOJIBAKE = re.compile("\u00c3[\u0080-\u00bf]|\u00e2\u20ac[\u2122\u0153\u009d\u201c\u201d\u02dc]")


def decode(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern), else cp1252, else a clear error."""
    if wide := utf16(data):
        return _try(data, wide, path)
    if b"\x00" in data:
        raise PocketBatchError(f"{path}: binary data, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _try(data, "cp1252", path)


def utf16(data: bytes) -> str | None:
    """The UTF-16 codec that reads `data`, by its byte-order mark or its pattern of NUL bytes; None if not UTF-16."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(data) >= 4 and data[1::2].count(0) > len(data) // 4 and data[::2].count(0) == 0:
        return "utf-16-le"
    if len(data) >= 4 and data[::2].count(0) > len(data) // 4 and data[1::2].count(0) == 0:
        return "utf-16-be"
    return None


def text_encoding(path: Path) -> str:
    """The codec `decode` would choose for the file, found without holding the file in memory (a prompt file may
    hold millions of lines): UTF-16 by its start, else UTF-8 if every byte decodes so, else cp1252."""
    try:
        with path.open("rb") as f:
            head = f.read(1 << 16)
            if wide := utf16(head):
                return wide
            utf8 = codecs.getincrementaldecoder("utf-8")()
            data = head
            while data:
                if b"\x00" in data:
                    raise PocketBatchError(f"{path}: binary data, not text")
                try:
                    utf8.decode(data)
                except UnicodeDecodeError:
                    return "cp1252"
                data = f.read(1 << 20)
            utf8.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    except OSError as exc:
        raise PocketBatchError(f"{path}: cannot read ({exc.strerror})") from None
    return "utf-8-sig"


def _try(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise PocketBatchError(f"{path}: undecodable text (not UTF-8, UTF-16 or cp1252; byte {exc.start})") from None


def read_book_text(path: Path) -> str:
    """A book's text; control characters (a DOS end-of-file Ctrl-Z, a stray \\x01) are not text and go."""
    return CONTROL.sub("", read_text_file(path))


def read_text_file(path: Path) -> str:
    try:
        return decode(path.read_bytes(), path)
    except OSError as exc:
        raise PocketBatchError(f"{path}: cannot read ({exc.strerror})") from None


def blocks(text: str) -> list[str]:
    return [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")) if b.strip()]


def is_heading(block: str) -> bool:
    if "\n" in block or len(block) > 80:
        return False
    line = block.strip()
    if HEADING.match(line) or roman_to_int(line.rstrip(".")) is not None:
        return True
    # A short all-caps line standing alone: "THE RETURN", but not a shouted sentence. Only letters
    # with case can be capitals: a short Chinese or Arabic line is text, not a heading.
    cased = [c for c in line if c.isupper() or c.islower()]
    return (len(cased) >= 3 and not any(c.islower() for c in cased) and len(line.split()) <= 8
            and line[-1] not in ".!?,;")


def extract_text(path: Path) -> Extracted:
    text = read_book_text(path)
    warnings = ["text looks like mojibake (UTF-8 decoded as cp1252 somewhere upstream)"] if MOJIBAKE.search(text) else []
    sections: list[Section] = [Section(path.stem, [], spoken_title=False)]
    for block in blocks(text):
        if SCENE_BREAK.match(block):
            if sections[-1].paras:
                sections[-1].paras[-1].section_break = True
        elif is_heading(block):
            sections.append(Section(" ".join(block.split()), []))
        else:
            sections[-1].paras.append(Para(" ".join(block.split())))
    if not sections[0].paras:
        sections.pop(0)
    sections = _merge_title_lines(sections)
    return Extracted(title=path.stem, sections=sections, warnings=warnings)


def _merge_title_lines(sections: list[Section]) -> list[Section]:
    """'CHAPTER I' followed by a heading-like 'THE PERIOD' is one title, not an empty chapter."""
    merged: list[Section] = []
    for section in sections:
        if merged and not merged[-1].paras and merged[-1].spoken_title:
            merged[-1] = Section(f"{merged[-1].title}. {section.title}", section.paras)
        else:
            merged.append(section)
    return merged
