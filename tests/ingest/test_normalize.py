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


@pytest.mark.parametrize("written, spoken", [
    ("II. A GAME OF CHESS", "Two. A game of chess"),
    ("IV. DEATH BY WATER", "Four. Death by water"),
    ("XII", "Twelve."),
    ("I Remember", "I Remember"),  # a pronoun, not a numeral: no stop after it
    ("CHAPTER IV", "Chapter four"),
])
def test_headings_say_their_numerals(written, spoken):
    assert Normalizer("en").heading(written) == spoken


@pytest.mark.parametrize("written, spoken", [
    ("Henry VIII married Anne.", "Henry the Eighth married Anne."),
    ("Pope John XXIII and World War II.", "Pope John the Twenty-third and World War two."),
    ("Then I left.", "Then I left."),
    ("ISBN 978-0-14-118776-1", "I S B N nine seven eight, zero, one four, one one eight seven seven six, one"),
    ("Call 555-123-4567.", "Call five five five, one two three, four five six seven."),
    ("Put the CD-ROM in.", "Put the C D-rom in."),  # initialism by letters, a word as a word (the CMU dictionary)
    ("NASA and the FBI's files", "Nasa and the F B I's files"),
    ("THE FBI FILES", "The F B I files"),  # among capitals: words, but an initialism still spelled
    ("It weighs 5 kg and measures 3/4 of an inch.", "It weighs five kilograms and measures three quarters of an inch."),
    ("On 7/4/1776, in the 1770s, at -5 degrees.",
     "On July fourth, seventeen seventy-six, in the seventeen seventies, at minus five degrees."),
])
def test_names_numerals_initialisms_and_digit_strings(written, spoken):
    assert Normalizer("en")(written) == spoken


@pytest.mark.parametrize("language, written, spoken", [
    ("fr", "Louis XIV et François Ier, au XIXe siècle.", "Louis quatorze et François premier, au dix-neuvième siècle."),
    ("fr", "M. Dupont arrive à 14 h 30 avec 10 000 francs.",
     "Monsieur Dupont arrive à quatorze heures trente avec dix mille francs."),
    ("de", "Heinrich VIII. wohnte im 3. Stock.", "Heinrich der Achte wohnte im dritten Stock."),
    ("de", "Am 28.06.1919 um 7:05 Uhr.", "Am achtundzwanzigsten Juni neunzehnhundertneunzehn um sieben Uhr fünf."),
    ("es", "Felipe II vivió en el siglo XVI; el 3,75 % de 35 km.",
     "Felipe segundo vivió en el siglo dieciséis; el tres coma setenta y cinco por ciento de treinta y cinco kilómetros."),
    ("it", "Enrico VIII nel XIX secolo, nel 1918.", "Enrico ottavo nel diciannovesimo secolo, nel millenovecentodiciotto."),
    ("fr", "La SNCF. LE ROI EST MORT", "La S N C F. Le roi est mort"),
])
def test_other_languages_say_numerals_titles_and_initialisms(language, written, spoken):
    assert Normalizer(language)(written) == spoken


def test_a_heading_inside_a_chapter_says_its_numeral(tmp_path):
    from pocket_batch.ingest.book import read_book

    book = tmp_path / "poem.md"
    book.write_text("# The Waste Land\n\n## I. THE BURIAL OF THE DEAD\n\nApril is the cruellest month.\n\n"
                    "## II. A GAME OF CHESS\n\nThe Chair she sat in.\n")
    spoken = [c.normalized for ch in read_book(book, lambda t: len(t.split()), 50).chapters for c in ch.chunks]
    assert "One. The burial of the dead" in spoken and "Two. A game of chess" in spoken
