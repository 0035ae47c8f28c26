"""Where each chunk of a book is in its content documents, in reading order.

Chunks are found one after another from a cursor that only moves forward. A chapter with a
known start (its `source`) moves the cursor there first, and its chunks are looked for only
up to where the next chapter starts: skipped front matter, a table of contents or an index
can repeat a chapter's words, but never inside the stretch the chapter owns.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from pocket_batch.core.records import Book, Chunk
from pocket_batch.postproc.readalong.spans import Stream, nonspace


@dataclass(frozen=True)
class Found:
    chunk: Chunk
    doc: int  # index into the documents
    start: int  # non-space positions in that document's stream
    end: int


def locate(book: Book, names: list[str], streams: list[Stream]) -> list[Found]:
    """Every chunk found in the documents (`names` relative to the package document, as `Chapter.source`)."""
    starts = [_start(chapter.source, names, streams) for chapter in book.chapters]
    found, cursor = [], (0, 0)
    for n, chapter in enumerate(book.chapters):
        if starts[n] is not None:
            cursor = max(cursor, starts[n])
        limit = next((s for s in starts[n + 1:] if s is not None), (len(streams) - 1, None))
        for chunk in chapter.chunks:
            hit = _find(nonspace(chunk.text), streams, cursor, limit)
            if hit is not None:
                found.append(Found(chunk, *hit))
                cursor = (hit[0], hit[2])
    return found


def _start(source: str, names: list[str], streams: list[Stream]) -> tuple[int, int] | None:
    name, _, anchor = source.partition("#")
    name = posixpath.normpath(name) if name else ""
    if name not in names:
        return None
    doc = names.index(name)
    return doc, streams[doc].ids.get(anchor, 0) if anchor else 0


def _find(key: str, streams: list[Stream], cursor: tuple[int, int], limit: tuple[int, int | None]
          ) -> tuple[int, int, int] | None:
    """(document, start, end) of `key` from the cursor to the limit, a chunk never crossing documents."""
    if not key:
        return None
    for doc in range(cursor[0], limit[0] + 1):
        text = streams[doc].text
        end = limit[1] if doc == limit[0] and limit[1] is not None else len(text)
        at = text.find(key, cursor[1] if doc == cursor[0] else 0, end)
        if at >= 0:
            return doc, at, at + len(key)
    return None
