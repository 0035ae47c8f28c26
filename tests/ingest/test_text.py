"""Plain text and Markdown readers: chapters, encodings, what is never spoken, nothing lost."""

from __future__ import annotations

import codecs

import pytest

from pocket_batch.ingest.book import extract, read_book
from pocket_batch.core.config import IngestOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import Boundary

BODY = "The coach went on along the road. It was dark and the horses were tired.\n\n"


def words(text: str) -> int:
    return len(text.split())


def chars(text: str) -> str:
    return "".join(text.split())


def assert_nothing_lost(path):
    extracted = extract(path, IngestOptions())
    book = read_book(path, words, 50)
    for chapter, section in zip(book.chapters, extracted.sections, strict=True):
        assert chars(" ".join(k.text for k in chapter.chunks)) == chars(extracted.text_of(section))
    return book


def test_text_chapter_headings_of_every_kind(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text("A preface before any heading.\n\n" + "\n\n".join(
        f"{heading}\n\n{BODY}" for heading in
        ["Chapter 1", "CHAPTER IV", "Part Two", "XII", "THE RETURN HOME", "Chapter the Last"]))
    book = assert_nothing_lost(path)
    assert [c.title for c in book.chapters] == ["book", "Chapter 1", "CHAPTER IV", "Part Two", "XII",
                                                "THE RETURN HOME", "Chapter the Last"]
    assert book.chapters[2].chunks[0].normalized == "Chapter four"  # the heading is read, numerals in words


def test_text_without_headings_is_one_chapter_and_scene_breaks_are_kept(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(BODY + "* * *\n\n" + BODY + "A SHOUTED sentence, not a heading.\n")
    book = assert_nothing_lost(path)
    assert len(book.chapters) == 1
    boundaries = [k.boundary for k in book.chapters[0].chunks]
    assert Boundary.SECTION in boundaries and boundaries[-1] == Boundary.CHAPTER


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-8"),
    lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    lambda t: t.encode("utf-16"),  # with BOM
    lambda t: t.encode("utf-16-le"),  # without BOM
    lambda t: t.encode("cp1252"),
])
def test_text_encodings_detected(tmp_path, encode):
    path = tmp_path / "enc.txt"
    path.write_bytes(encode("Caf\u00e9 au lait \u2013 na\u00efve r\u00e9sum\u00e9, \u201cquoted\u201d.\n"))
    book = read_book(path, words, 50)
    assert book.chapters[0].chunks[0].text == "Caf\u00e9 au lait \u2013 na\u00efve r\u00e9sum\u00e9, \u201cquoted\u201d."


def test_undecodable_or_binary_text_is_a_clear_error(tmp_path):
    path = tmp_path / "bin.txt"
    path.write_bytes(b"\x81\x8d\x8f abc \xff\xfe\x00\x00\x00")
    with pytest.raises(PocketBatchError, match="bin.txt: binary data"):
        read_book(path, words, 50)
    path.write_bytes(b"abc \x81\x8d def")
    with pytest.raises(PocketBatchError, match="bin.txt: undecodable"):
        read_book(path, words, 50)
    path.write_text("\n\n   \n")
    with pytest.raises(PocketBatchError, match="no readable text"):
        read_book(path, words, 50)


def test_mojibake_is_warned(tmp_path):
    path = tmp_path / "moji.txt"
    path.write_text("It was \u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d and caf\u00c3\u00a9.")
    assert any("mojibake" in w for w in read_book(path, words, 50).warnings)


def test_markdown_headings_make_chapters_and_markup_is_never_spoken(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text(
        "# The Book\n\n## One\n\nSee [the site](https://example.com/page) and ![a figure](fig.png) "
        "with **bold**, _emphasis_ and `x = 1`.\n\n```python\nprint('never spoken')\n```\n\n"
        "<div class=\"note\">raw html block</div>\n\n### A subsection\n\nMore text.\n\n## Two\n\nThe end.\n")
    book = assert_nothing_lost(path)
    assert book.title == "The Book"
    assert [c.title for c in book.chapters] == ["One", "Two"]
    spoken = " ".join(k.text for c in book.chapters for k in c.chunks)
    assert "See the site and with bold, emphasis and x = 1." in spoken
    for never in ("https", "example.com", "fig.png", "never spoken", "raw html", "**", "```", "#"):
        assert never not in spoken
    assert book.chapters[0].chunks[0].text == "The Book"  # the book title opens the first chapter
