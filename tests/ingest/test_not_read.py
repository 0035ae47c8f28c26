"""Nothing in a book is dropped without a word: what is not read is counted by kind, with its words."""

from __future__ import annotations

import re

from pocket_batch.core.config import IngestOptions
from pocket_batch.ingest.book import read_book
from pocket_batch.pipeline.inspect import estimate_tokens, inspect_book

from helpers.epubs import Doc, notes_and_math_book, sample_book


def words_by_kind(book) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for o in book.omitted:
        kinds[o.kind] = kinds.get(o.kind, 0) + o.words
    return kinds


def test_rear_notes_math_images_and_nonlinear_items_are_counted(tmp_path):
    path = notes_and_math_book().write(tmp_path / "poem.epub")
    book = read_book(path, estimate_tokens, 50)
    kinds = words_by_kind(book)
    assert kinds["notes"] == 4 + 12 * 15  # the heading "Notes on the Poem" and twelve notes of 15 words
    assert kinds["math"] == 5 + 5 + 3  # two alttexts of five words, and one expression's own text (x + y)
    assert kinds["image text"] == 9
    assert kinds["outside the reading order"] == 13
    assert book.words_not_read == sum(kinds.values())
    assert any("are not read: notes 184, math 13, image text 9, outside the reading order 13" in w for w in book.warnings)


def test_math_alttext_and_image_alt_can_be_read_instead(tmp_path):
    path = notes_and_math_book().write(tmp_path / "poem.epub")
    book = read_book(path, estimate_tokens, 50, IngestOptions(math="alttext", image_alt="read"))
    text = " ".join(c.text for c in book.chunks)
    assert "Let v equals a plus b be the sum of two vectors." in text
    assert "A diagram of two arrows meeting at a point." in text
    assert words_by_kind(book)["math"] == 3 and "image text" not in words_by_kind(book)


def test_notes_read_at_the_chapter_end_are_not_counted_as_left_out(tmp_path):
    path = sample_book().write(tmp_path / "b.epub")
    skipped = words_by_kind(read_book(path, estimate_tokens, 50)).get("notes", 0)
    read = words_by_kind(read_book(path, estimate_tokens, 50, IngestOptions(footnotes="chapter-end"))).get("notes", 0)
    assert skipped > read >= 0
    assert skipped - read >= len("Heavy rain, as usual.".split()) + len("A dusty road.".split())


def test_a_title_alone_does_not_skip_a_chapter_of_prose(tmp_path):
    prose = "".join(f"<p>Sentence {n} explains how to use the code examples in this book.</p>" for n in range(6))
    book = sample_book(docs=[Doc("intro.xhtml", "<h1>Contents</h1>" + prose),
                             Doc("guide.xhtml", "<h1>Using Code Examples</h1>" + prose +
                                 "<p>An attribution usually includes the title, author and ISBN.</p>"),
                             Doc("toc.xhtml", "<h1>Contents</h1><p>Chapter 1</p><p>Chapter 2</p>")],
                       toc=[("Contents", "intro.xhtml", []), ("Using Code Examples", "guide.xhtml", []),
                            ("Contents", "toc.xhtml", [])], landmarks=[])
    book = read_book(book.write(tmp_path / "b.epub"), estimate_tokens, 50)
    assert [c.title for c in book.chapters] == ["Contents", "Using Code Examples"]
    assert [why for _, why in book.skipped] == ["contents"]  # the real, short one
    assert sum("looks like front matter (contents) but has 6 sentences" in w for w in book.warnings) == 1
    assert sum("looks like front matter (copyright page) but has 7 sentences" in w for w in book.warnings) == 1


def test_inspect_reports_words_not_read(tmp_path):
    report = inspect_book(notes_and_math_book().write(tmp_path / "poem.epub"))
    assert report.words_not_read == 184 + 13 + 9 + 13
    assert {n.kind for n in report.not_read} == {"notes", "math", "image text", "outside the reading order"}


def test_8_math_is_counted_by_its_own_words_not_its_placeholder(tmp_path):
    formula = ('<math xmlns="http://www.w3.org/1998/Math/MathML" alttext="Alternative text not available"><semantics>'
               '<mrow><msup><mi>x</mi><mn>2</mn></msup><mo>+</mo><mi>y</mi><mo>=</mo><mn>3</mn>'
               '<mtext>for all reals</mtext></mrow><annotation encoding="application/x-tex">x^2+y=3</annotation>'
               '</semantics></math>')
    book = sample_book(docs=[Doc("c1.xhtml", f"<h1>One</h1><p>So {formula} holds, and {formula} again.</p>")],
                       toc=[("One", "c1.xhtml", [])], landmarks=[])
    book = read_book(book.write(tmp_path / "b.epub"), estimate_tokens, 50)
    assert words_by_kind(book)["math"] == 2 * 9  # x 2 + y = 3 for all reals: nine words each, not four


def test_8_a_long_section_with_a_copyright_line_is_read_without_a_warning(tmp_path):
    prose = "".join(f"<p>Sentence {n} of the chapter explains a matrix.</p>" for n in range(40))
    footer = "<p>Copyright \u00a9 2020 The Author. All rights reserved.</p>"
    docs = [Doc(f"c{n}.xhtml", f"<h1>Chapter {n}</h1>{prose}{footer}") for n in range(1, 6)]
    book = read_book(sample_book(docs=docs, toc=[(f"Chapter {n}", f"c{n}.xhtml", []) for n in range(1, 6)],
                                 landmarks=[]).write(tmp_path / "b.epub"), estimate_tokens, 50)
    assert len(book.chapters) == 5 and not any("front matter" in w for w in book.warnings)


POEM = ("<h1>I. The Burial of the Dead</h1>"
        '<p>April is the cruellest month, breeding<span epub:type="pagebreak" id="page174" title="174">174</span></p>'
        '<p>Lilacs out of the dead land, mixing <span class="lnum" style="float:right">5</span></p>'
        '<p>Memory and desire, stirring <span role="doc-pagebreak" id="page175" aria-label="175"/></p>'
        '<p>Dull roots with spring rain.<span class="linenum">10</span></p>'
        "<p>Summer surprised us, coming over the Starnbergersee, and we stopped in the colonnade, and went on in "
        "sunlight, into the Hofgarten.</p>")


def test_page_break_markers_and_line_numbers_are_not_read_and_are_counted_by_kind(tmp_path):
    """The EPUB accessibility page markers (epub:type and role, with the number as text or in an attribute) and
    line numbers by their class names: none is read, each is one item of its kind, with its words."""
    path = sample_book(docs=[Doc("ch1.xhtml", POEM)], toc=[("I. The Burial of the Dead", "ch1.xhtml", [])],
                       landmarks=[]).write(tmp_path / "poem.epub")
    book = read_book(path, estimate_tokens, 50)
    spoken = set(re.findall(r"[a-z0-9]+", " ".join(c.normalized for c in book.chunks).lower()))
    assert not spoken & {"hundred", "seventy", "four", "five", "ten", "174", "175", "5", "10"}, spoken
    assert "breeding Lilacs" in " ".join(c.text for c in book.chunks).replace(",", "")
    items = [(o.kind, o.words, o.detail) for o in book.omitted]
    assert [i for i in items if i[0] == "page numbers"] == [("page numbers", 1, "174"), ("page numbers", 0, "175")]
    assert [i for i in items if i[0] == "line numbers"] == [("line numbers", 1, "5"), ("line numbers", 1, "10")]
    report = inspect_book(path, options=IngestOptions())
    kinds = {(n.kind, n.words) for n in report.not_read}
    assert ("page numbers", 1) in kinds and ("line numbers", 1) in kinds
