"""Wrapping chunks of text in spans inside real XHTML: the text never moves, the markup stays valid."""

from __future__ import annotations

from lxml import etree

from pocket_batch.ingest import html
from pocket_batch.pipeline.cli import optional_values
from pocket_batch.postproc.readalong.spans import Stream, nonspace, read_text, wrap

NS = "http://www.w3.org/1999/xhtml"


def body(markup: str):
    root = etree.fromstring(f'<html xmlns="{NS}" xmlns:epub="http://www.idpf.org/2007/ops"><body>{markup}</body></html>')
    return root, root[0]


def wrap_all(markup: str, chunks: list[str], reading: html.Reading = html.Reading()):
    """Each chunk found in order and wrapped, from the last to the first as the read-along builder does."""
    root, el = body(markup)
    stream, at, ranges = Stream(el, reading), 0, []
    for text in chunks:
        start = stream.text.index(nonspace(text), at)
        ranges.append((start, start + len(nonspace(text))))
        at = ranges[-1][1]
    spans = {}
    for n, (start, end) in reversed(list(enumerate(ranges))):
        spans[n] = wrap(stream, start, end, f"s{n}")
    return root, spans


def all_text(root) -> str:
    return nonspace("".join(root.itertext()))


def test_a_sentence_crossing_inline_elements_is_one_span_with_exactly_its_text():
    markup = ('<p id="p">He said <em id="e">hello there. And</em> then <a href="#x">left<sup><a href="#n1">1</a></sup>'
              '</a> the room.</p>')
    before = all_text(body(markup)[0])
    root, spans = wrap_all(markup, ["He said hello there.", "And then left the room."],
                           html.Reading(note_ids={"n1"}))
    assert [read_text(spans[n]) for n in (0, 1)] == ["He said hello there.", "And then left the room."]
    assert all_text(root) == before  # no text added, none lost
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert sorted(ids) == ["e", "p", "s0", "s1"]  # the split <em> keeps its id in its first half only
    assert root.find(f".//{{{NS}}}sup/{{{NS}}}a").get("href") == "#n1"  # the reference mark still links


def test_a_chunk_inside_one_text_node_and_nested_formatting():
    root, spans = wrap_all("<p>Second <b>para<i>graph</i></b>. Done<!-- a comment --> now.</p>",
                           ["Second paragraph.", "Done now."])
    assert read_text(spans[0]) == "Second paragraph."
    assert read_text(spans[1]) == "Done now."  # the comment is kept, and not read
    assert etree.tostring(spans[0], encoding=str, with_tail=False).count("<b>") == 1  # nothing split needlessly


def test_a_chunk_starting_mid_element_and_ending_in_its_parent():
    root, spans = wrap_all("<p><strong>One two. Three</strong> four five.</p>", ["One two.", "Three four five."])
    assert read_text(spans[0]) == "One two."
    assert read_text(spans[1]) == "Three four five."
    serialized = etree.tostring(root, encoding=str)
    assert serialized.count("<strong") == 2 and serialized.count("</strong>") == 2


def test_a_range_across_two_paragraphs_is_refused_and_nothing_changes():
    root, el = body("<p>End of one.</p><p>Start of two.</p>")
    before = etree.tostring(root)
    stream = Stream(el)
    assert wrap(stream, stream.text.index("one."), stream.text.index("two") , "x") is None
    assert etree.tostring(root) == before


def test_notes_and_silent_elements_are_not_in_the_stream_but_ids_are_known():
    reading = html.Reading(note_ids={"fn"})
    _, el = body('<h1 id="c2">Two</h1><p>Text<a epub:type="noteref" href="#fn">1</a> here.</p>'
                 '<aside epub:type="footnote" id="fn"><p>The note.</p></aside><script>var x;</script>')
    stream = Stream(el, reading)
    assert stream.text == "TwoTexthere."
    assert stream.ids["c2"] == 0 and "fn" in stream.ids


def test_readalong_alone_means_sentences():
    assert optional_values(["render", "b.epub", "--readalong"]) == ["render", "b.epub", "--readalong", "sentences"]
    assert optional_values(["render", "--readalong", "b.epub"]) == ["render", "--readalong", "sentences", "b.epub"]
    assert optional_values(["render", "--readalong", "words", "b.epub"]) == ["render", "--readalong", "words", "b.epub"]
