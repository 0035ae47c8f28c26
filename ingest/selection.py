"""Reading part of a book: chosen chapters (`--chapters 3-5,8`), or the opening of each (`--preview 60s`).

A selection only drops chunks: the ones kept have the ids and texts (so the keys) they have in the
whole book, and a later full run finds every one of them in the cache.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import Boundary, Book

PREVIEW_WORDS_PER_SECOND = 2.6  # Pocket TTS's pace, roughly: how many words make N seconds
RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min)?\s*$", re.I)


def parse_chapters(spec: str) -> list[range]:
    """ "3-5,8" -> [range(3, 6), range(8, 9)]: ranges, never expanded (a typed 1-99999999 costs nothing)."""
    ranges: list[range] = []
    for part in spec.split(","):
        m = RANGE.match(part)
        if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
            raise PocketBatchError(f"--chapters {spec!r}: expected numbers and ranges, like 3-5,8")
        ranges.append(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))
    return ranges


def parse_seconds(spec: str) -> float:
    """ "60s", "2m", "90" -> seconds."""
    m = DURATION.match(spec)
    if not m or float(m.group(1)) <= 0:
        raise PocketBatchError(f"--preview {spec!r}: expected a length like 60s or 2m")
    return float(m.group(1)) * (60 if (m.group(2) or "s").lower() in ("m", "min") else 1)


def select(book: Book, chapters: str | None = None, preview: float | None = None) -> Book:
    kept = book.chapters
    if chapters:
        wanted = parse_chapters(chapters)
        present = [c.index for c in book.chapters]
        if missing := [r for r in wanted if r.start not in present or r[-1] not in present]:
            shown = ", ".join(str(r.start) if len(r) == 1 else f"{r.start}-{r[-1]}" for r in missing[:5])
            raise PocketBatchError(f"{book.source}: no chapter {shown} "
                                   f"(its chapters are numbered {present[0]}-{present[-1]}, as `inspect` lists them)")
        kept = tuple(c for c in book.chapters if any(c.index in r for r in wanted))
    if preview:
        kept = tuple(replace(c, chunks=_opening(c.chunks, preview)) for c in kept)
        book = replace(book, title=f"{book.title} (preview)")
    return replace(book, chapters=kept)


def _opening(chunks, seconds: float):
    """The chapter's first chunks, whole sentences, until about `seconds` of speech; the last ends the chapter."""
    words, taken = 0, []
    for chunk in chunks:
        if taken and words >= seconds * PREVIEW_WORDS_PER_SECOND:
            break
        taken.append(chunk)
        words += len(chunk.text.split())
    return tuple(taken[:-1]) + (replace(taken[-1], boundary=Boundary.CHAPTER),)
