"""The PDF reader's rules on lines (no PDF needed): hyphenated words joined, page numbers and running lines told apart."""

from __future__ import annotations

from pocket_batch.ingest.pdf import PAGE_NUMBER, Line, _join, _remove_running_lines


def test_a_word_hyphenated_across_lines_is_joined_and_a_dash_kept():
    assert _join("an exten-", "sive survey") == "an extensive survey"
    assert _join("the well-", "Known Road") == "the well- Known Road"  # a capital: not a broken word
    assert _join("twenty", "miles") == "twenty miles"


def test_page_numbers_in_the_margins_and_running_heads_are_left_out_and_counted():
    lines = []
    for page in range(6):
        lines += [Line(page, "THE ROAD NORTH", 780, 770, 9), Line(page, f"Body text of page {page}.", 600, 590, 11),
                  Line(page, str(page + 101), 20, 12, 9)]
    lines.append(Line(2, "12", 400, 390, 11))  # a number in the body is text
    body, omitted, labels = _remove_running_lines(lines, [792.0] * 6)
    assert [line.text for line in body if line.page == 2] == ["Body text of page 2.", "12"]
    assert labels == {n: str(n + 101) for n in range(6)}
    assert sorted({o.kind for o in omitted}) == ["page numbers", "running heads"]
    assert sum(o.words for o in omitted if o.kind == "running heads") == 6 * 3
    assert PAGE_NUMBER.match("Page 12 of 300") and PAGE_NUMBER.match("xiv") and not PAGE_NUMBER.match("1984 was a year")
