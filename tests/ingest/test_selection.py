"""Choosing what to read: chapter ranges and previews keep each chunk's id and text."""

from __future__ import annotations

import pytest

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import Boundary
from pocket_batch.ingest.book import read_book
from pocket_batch.ingest.selection import parse_chapters, parse_seconds, select

BOOK = "".join(f"CHAPTER {n}\n\n" + " ".join(f"Sentence {s} of chapter {n} is here." for s in range(1, 9)) + "\n\n"
               for n in ("I", "II", "III", "IV"))


def test_chapter_ranges_and_lengths_parse():
    assert parse_chapters("3-5,8") == [range(3, 6), range(8, 9)] and parse_chapters(" 2 ") == [range(2, 3)]
    assert parse_seconds("60s") == 60 and parse_seconds("2m") == 120 and parse_seconds("90") == 90
    for bad in ("3-", "5-3", "a", ""):
        with pytest.raises(PocketBatchError, match="--chapters"):
            parse_chapters(bad)
    with pytest.raises(PocketBatchError, match="--preview"):
        parse_seconds("soon")


def test_selection_keeps_ids_and_texts(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text(BOOK)
    book = read_book(path, lambda t: len(t.split()), 12)
    chosen = select(book, "2-3")
    assert [c.index for c in chosen.chapters] == [2, 3] and chosen.chapters == book.chapters[1:3]
    preview = select(book, None, 6.0)
    assert preview.title.endswith("(preview)")
    for whole, part in zip(book.chapters, preview.chapters):
        assert 0 < len(part.chunks) < len(whole.chunks)
        assert [c.text for c in part.chunks] == [c.text for c in whole.chunks[:len(part.chunks)]]
        assert sum(len(c.text.split()) for c in part.chunks[:-1]) < 6.0 * 2.6 and part.chunks[-1].boundary == Boundary.CHAPTER
    with pytest.raises(PocketBatchError, match=r"no chapter 7 \(its chapters are numbered 1-4"):
        select(book, "3,7")


def test_18_a_huge_chapter_range_is_refused_without_being_expanded(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text(BOOK)
    book = read_book(path, lambda t: len(t.split()), 12)
    with pytest.raises(PocketBatchError, match=r"no chapter 1-99999999999 \(its chapters are numbered 1-4"):
        select(book, "1-99999999999")
    # (expanded, that range would be a list of 800 GB)
