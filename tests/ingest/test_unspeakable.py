"""Text that normalizes to nothing never reaches the model, and is counted; CJK lines are not headings."""

from __future__ import annotations

from pocket_batch.core.records import Boundary
from pocket_batch.ingest.book import read_book
from pocket_batch.ingest.text import is_heading
from pocket_batch.pipeline.inspect import estimate_tokens


def test_paragraphs_that_say_nothing_are_left_out_and_counted(tmp_path):
    path = tmp_path / "breaks.txt"
    path.write_text("The first scene ends here.\n\n___\n\n[]\n\n{}\n\n<>\n\nThe second scene begins.\n")
    book = read_book(path, estimate_tokens, 50)
    assert [c.text for c in book.chunks] == ["The first scene ends here.", "The second scene begins."]
    assert [(o.kind, o.detail) for o in book.omitted] == [("nothing to speak", t) for t in ("___", "[]", "{}", "<>")]
    assert book.chunks[0].boundary == Boundary.PARAGRAPH and book.chunks[-1].boundary == Boundary.CHAPTER


def test_a_word_the_lexicon_maps_to_nothing_leaves_no_empty_chunk(tmp_path):
    lexicon = tmp_path / "lex.json"
    lexicon.write_text('{"Hmm.": ""}')
    path = tmp_path / "b.txt"
    path.write_text("She waited for an answer.\n\nHmm.\n\nThen she left the room.\n")
    from pocket_batch.core.config import IngestOptions

    book = read_book(path, estimate_tokens, 50, IngestOptions(lexicon=lexicon))
    assert all(c.normalized.strip() for c in book.chunks)
    assert "Hmm." not in " ".join(c.text for c in book.chunks)
    assert [o.kind for o in book.omitted] == ["nothing to speak"]


def test_short_lines_without_cased_letters_are_not_headings():
    assert is_heading("THE RETURN")
    assert not is_heading("第一章的内容很长而且这里有一些中文文字")
    assert not is_heading("هذا سطر قصير باللغة العربية")
    assert not is_heading("1234 5678")


def test_a_chunk_the_model_may_cut_short_is_warned(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("A " + "x" * 500 + " word.\n")
    by_characters = lambda text: len(text) // 4 + 1  # noqa: E731 - as a subword tokenizer counts one long word
    book = read_book(path, by_characters, 50)
    assert any("1 chunk(s) over 50 tokens (no clause or word boundary to split at)" in w for w in book.warnings)
