"""Marks in the text: pauses, voice switches and pronunciations, parsed and never read aloud."""

from __future__ import annotations

import re

import pytest

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.ingest.book import read_book
from pocket_batch.ingest.marks import MarkError, Run, runs

from helpers.epubs import Doc, Epub


def words(text: str) -> int:
    return len(text.split()) * 2


MARKED = """{heading}

The keeper climbed the stairs. [pause 1.5s] He lit the lamp.

[voice: marius]Dear Anna, the sea is calm tonight.

I will write again soon.[/voice]

Mr [Nguyen](say: win) waved from the pier.[pause 500ms]

Nguyen smiled.
"""


def test_a_paragraph_is_cut_at_its_marks():
    assert runs("One. [pause 1.5s] Two [voice: marius]three[/voice] four.", None) == (
        [Run("One.", None, 1.5), Run("Two", None), Run("three", "marius", role="voice mark"), Run("four.", None)], None)
    assert runs("[pause 500ms]Start", None) == ([Run("", None, 0.5), Run("Start", None)], None)
    assert runs("A letter [voice: ./me.wav] begins", None) == (
        [Run("A letter"), Run("begins", "./me.wav", role="voice mark")], "./me.wav")
    assert runs("Text with [brackets] and [a link](http://x).", None)[0] == [
        Run("Text with [brackets] and [a link](http://x).")]


@pytest.mark.parametrize("mark", ["[pause one]", "[pause -1s]", "[pause 2s", "[Nguyen](say win)", "[pause 99s]",
                                  "[ voice: x ]", "[x](say: )", "[/ voice]"])
def test_a_malformed_mark_is_an_error_not_text(mark):
    with pytest.raises(MarkError):
        runs(f"Before {mark} after.", None)
    with pytest.raises(MarkError, match="no \\[voice"):
        runs("closing [/voice] nothing", None)


@pytest.mark.parametrize("suffix, heading", [(".md", "# The Lighthouse"), (".txt", "THE LIGHTHOUSE")])
def test_every_mark_kind_in_markdown_and_text(tmp_path, suffix, heading):
    path = tmp_path / f"book{suffix}"
    path.write_text(MARKED.format(heading=heading))
    chunks = read_book(path, words, 200).chunks
    assert not any("[" in c.text or "[" in c.normalized or "say" in c.normalized for c in chunks)
    by_text = {c.text: c for c in chunks}
    assert by_text["The keeper climbed the stairs."].pause == 1.5
    letter = [c for c in chunks if c.voice]
    assert [c.text for c in letter] == ["Dear Anna, the sea is calm tonight.", "I will write again soon."]
    assert all(c.voice == "marius" and c.role == "voice mark" for c in letter)
    waved = by_text["Mr Nguyen waved from the pier."]
    assert "win" in waved.normalized and "Nguyen" not in waved.normalized and waved.pause == 0.5
    assert "win" in by_text["Nguyen smiled."].normalized  # taught once, said so everywhere
    assert all(c.voice is None and c.role == "narration" for c in chunks if c not in letter)


def test_a_pronunciation_link_in_markdown_is_a_mark(tmp_path):
    path = tmp_path / "b.md"
    path.write_text("# T\n\nMr [Nguyen](say:win) came.\n")
    [chunk] = [c for c in read_book(path, words, 200).chunks if "came" in c.text]
    assert chunk.text == "Mr Nguyen came." and "win" in chunk.normalized


@pytest.mark.parametrize("body, line, mark", [("One.\n\nTwo [pause x] three.\n", 3, "[pause x]"),
                                              ("One.\n\n[voice: marius]Two.\n\nThree.\n", 3, "[voice: marius]")])
def test_a_bad_mark_names_the_file_and_line(tmp_path, body, line, mark):
    path = tmp_path / "b.txt"
    path.write_text(body)
    with pytest.raises(PocketBatchError) as refused:
        read_book(path, words, 200)
    message = str(refused.value)
    assert message.startswith(f"{path}:{line}: malformed mark {mark!r}") and "\n" not in message


def test_epub_marks_as_text_or_data_pocket_attributes(tmp_path):
    book = Epub([Doc("c1.xhtml", '<h1>One</h1><p>He said <span data-pocket-say="win">Nguyen</span> twice.'
                                 '<span data-pocket-pause="2s"/></p><p data-pocket-voice="marius">A letter, read apart.</p>'
                                 '<p>Then [pause 1s] more.</p>')], toc=[("One", "c1.xhtml", [])])
    chunks = read_book(book.write(tmp_path / "b.epub"), words, 200).chunks
    said = next(c for c in chunks if "twice" in c.text)
    assert said.text == "He said Nguyen twice." and "win" in said.normalized and said.pause == 2.0
    assert next(c for c in chunks if "letter" in c.text).voice == "marius"
    assert next(c for c in chunks if c.text == "Then").pause == 1.0


def test_a_voice_map_reads_names_and_voices(tmp_path):
    from pocket_batch.ingest.dialogue import read_voice_map

    (tmp_path / "anna.wav").write_bytes(b"")
    path = tmp_path / "map.toml"
    path.write_text('Javert = "javert"\nAnna = "anna.wav"\n')
    assert read_voice_map(path) == {"Javert": "javert", "Anna": str(tmp_path / "anna.wav")}
    path.write_text('[voices]\nJavert = 3\n')
    with pytest.raises(PocketBatchError, match="NAME = "):
        read_voice_map(path)


def test_inspect_lists_the_marks(tmp_path):
    from pocket_batch.pipeline.inspect import inspect_book

    path = tmp_path / "b.md"
    path.write_text(MARKED.format(heading="# The Lighthouse"))
    report = inspect_book(path)
    assert report.voices == {"marius": 2} and report.pauses == 2 and report.pronunciations == {"Nguyen": "win"}


def test_17_a_plays_brackets_are_text_and_a_backslash_writes_one(tmp_path):
    path = tmp_path / "play.txt"
    path.write_text("ACT ONE\n\nHAMM: [Pause.] Go on.\n\n[Voice off] Who is there?\n\n"
                    "Write \\[pause 2s] for a pause. [pause 1s] Then stop.\n")
    book = read_book(path, words, 200)
    texts = [c.text for c in book.chunks]
    assert "HAMM: [Pause.] Go on." in texts and "[Voice off] Who is there?" in texts
    assert "Write [pause 2s] for a pause." in texts and next(c for c in book.chunks if "Write" in c.text).pause == 1.0
    [warning] = [w for w in book.warnings if "bracketed" in w]
    assert warning.startswith("2 bracketed passage(s) read as text, not as marks: '[Pause.]', '[Voice off]'")


def test_17_markdown_code_and_escapes_are_read_as_written_never_as_marks(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text("# Marks\n\nType `[voice: marius]` to switch, or \\[pause 2s] to wait.\n\n"
                    "```\n[pause x]\n```\n\nA real one. [pause 1s] Done.\n")
    chunks = read_book(path, words, 200).chunks
    assert "Type [voice: marius] to switch, or [pause 2s] to wait." in [c.text for c in chunks]
    assert all(c.voice is None for c in chunks) and next(c for c in chunks if c.text == "A real one.").pause == 1.0
    assert not any("pause x" in c.text for c in chunks)  # a code block is not read


def test_17_a_lexicon_respelling_is_text(tmp_path):
    from pocket_batch.ingest.normalize import load_lexicon

    path = tmp_path / "lex.json"
    for value, shown in (("null", "'Smith': null"), ('["oh", "no"]', "'Smith': [\"oh\", \"no\"]"), ("3", "'Smith': 3")):
        path.write_text('{"Smith": %s, "sea": "see"}' % value)
        with pytest.raises(PocketBatchError, match=f"bad lexicon \\(a respelling is text, not {re.escape(shown)}\\)"):
            load_lexicon(path)


def test_17_a_section_in_a_voice_reads_each_of_its_paragraphs_in_it(tmp_path):
    book = Epub([Doc("c1.xhtml", '<h1>One</h1><p>Narrated.</p><section data-pocket-voice="marius"><p>First of the letter.</p>'
                                 '<p>Second of it.</p><p data-pocket-voice="alba">Her postscript.</p></section><p>After.</p>')],
                toc=[("One", "c1.xhtml", [])])
    chunks = read_book(book.write(tmp_path / "b.epub"), words, 200).chunks
    assert {c.text: c.voice for c in chunks} == {"One": None, "Narrated.": None, "First of the letter.": "marius",
                                                 "Second of it.": "marius", "Her postscript.": "alba", "After.": None}
