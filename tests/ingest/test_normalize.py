"""English normalization: what a book prints into what Pocket TTS can read."""

from __future__ import annotations

import pytest

from pocket_batch.ingest.normalize import Normalizer, load_lexicon
from pocket_batch.core.errors import PocketBatchError


@pytest.mark.parametrize("written, spoken", [
    ("I have 3 apples and 1,500 pears.", "I have three apples and one thousand five hundred pears."),
    ("He came 1st, she 22nd.", "He came first, she twenty-second."),
    ("In 1984 it rained.", "In nineteen eighty-four it rained."),
    ("Pi is 3.14 or so.", "Pi is three point one four or so."),
    ("It cost $3.50, or \u00a32 million.", "It cost three dollars and fifty cents, or two million pounds."),
    ("Sales rose 50% today.", "Sales rose fifty percent today."),
    ("We met at 10:05 p.m.", "We met at ten oh five p m."),
    ("Born 1990-05-17 here.", "Born May seventeenth, nineteen ninety here."),
    ("On March 3 we left.", "On March third we left."),
    ("Read pages 12-15 now.", "Read pages twelve to fifteen now."),
    ("Mr. Smith met Dr. Jones, e.g. at St. Paul's etc.", "Mister Smith met Doctor Jones, for example at Saint Paul's et cetera"),
    ("Salt & pepper at 20\u00b0 in \u00a7 4.", "Salt and pepper at twenty degrees in section four."),
    ("\u201cWait\u201d \u2014 she said \u2018no\u2019.", "\"Wait\", she said 'no'."),
    ("See https://www.example.com/a/b or mail jo.doe@mail.org now.", "See example dot com or mail jo dot doe at mail dot org now."),
    ("I AM SO ANGRY at the BBC.", "I am so angry at the B B C."),
    ("Chapter XIV", "Chapter fourteen"),
])
def test_english(written, spoken):
    assert Normalizer("en")(written) == spoken


def test_lexicon_applies_first_from_tsv_and_json(tmp_path):
    tsv = tmp_path / "lex.tsv"
    tsv.write_text("# word\trespelling\nHermione\ther-MY-oh-nee\nCOVID\tcoh-vid\n")
    normalize = Normalizer("en", load_lexicon(tsv))
    assert normalize("Hermione had COVID.") == "her-MY-oh-nee had coh-vid."
    js = tmp_path / "lex.json"
    js.write_text('{"Nguyen": "win"}')
    assert Normalizer("en", load_lexicon(js))("Mr. Nguyen") == "Mister win"
    bad = tmp_path / "bad.tsv"
    bad.write_text("one\ttwo\tthree\n")
    with pytest.raises(PocketBatchError, match="bad.tsv: bad lexicon"):
        load_lexicon(bad)


def test_other_languages_get_numbers_in_their_own_words():
    assert Normalizer("fr")("Il a 21 ans \u2014 vraiment.") == "Il a vingt et un ans, vraiment."


def test_lexicon_entries_with_symbols_phrases_and_punctuation_around_them(tmp_path):
    lexicon = {"C++": "see plus plus", "New York": "noo york", "Dr.": "Doctor", "Nguyen": "win"}
    normalize = Normalizer("en", lexicon)
    assert normalize("I like C++, and C++.") == "I like see plus plus, and see plus plus."
    assert normalize("Dr. Nguyen left (New York) today.") == "Doctor win left (noo york) today."
    assert normalize("Nguyens and NewYork stay.") == "Nguyens and NewYork stay."  # whole words only


def test_a_lexicon_with_an_empty_word_is_refused(tmp_path):
    tsv = tmp_path / "lex.tsv"
    tsv.write_text("Hermione\ther-MY-oh-nee\n\tinserted everywhere\n")
    with pytest.raises(PocketBatchError, match=r"lex.tsv: bad lexicon \(an empty word at line 2\)"):
        load_lexicon(tsv)
    js = tmp_path / "lex.json"
    js.write_text('{"ok": "fine", " ": "x"}')
    with pytest.raises(PocketBatchError, match=r"lex.json: bad lexicon \(an empty word at entry 2\)"):
        load_lexicon(js)


def test_a_large_lexicon_applies_to_every_word(tmp_path):
    lexicon = {f"word{n}": f"respelled{n}" for n in range(100_000)}
    text = " ".join(f"word{n * 7}" for n in range(2_000))
    out = Normalizer("en", lexicon)(text).split()
    assert out[:2] == ["respelled0", "respelled7"] and len(out) == 2_000 and out[-1] == "respelled13993"
