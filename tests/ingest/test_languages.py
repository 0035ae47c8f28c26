"""Books in French and German: sentences split with their abbreviations, numbers in their words, their quotes."""

from __future__ import annotations

from pocket_batch.core.config import IngestOptions
from pocket_batch.ingest.book import read_book

FRENCH = """CHAPITRE I

« Bonjour », dit M. Dupont. Il avait 42 ans et 3 enfants, etc. et il vivait au n° 7.

Le 14 juillet 1789, la Bastille tomba. « Viens-tu ? » demanda Mme Leroux.
"""
GERMAN = """KAPITEL I

„Guten Tag“, sagte Dr. Müller. Er hat 25 Bücher, z.B. Romane und Gedichte.

Im Jahr 1999 kaufte Frl. Weber 3 Häuser. »Wirklich?«, fragte sie.
"""


def tokens(text: str) -> int:
    return len(text.split()) * 2


def test_a_french_text_splits_at_its_own_abbreviations_and_says_numbers_in_french(tmp_path):
    path = tmp_path / "roman.txt"
    path.write_text(FRENCH)
    chunks = read_book(path, tokens, 200, IngestOptions(), model_language="fr").chunks
    texts = [c.text for c in chunks]
    assert "« Bonjour », dit M. Dupont." in texts  # not cut after "M."
    assert "« Viens-tu ? » demanda Mme Leroux." in texts  # a lower-case start after « … ? » goes on
    spoken = " ".join(c.normalized for c in chunks)
    assert "quarante-deux" in spoken and "mille sept cent quatre-vingt-neuf" in spoken
    assert not any(q in spoken for q in "«»")


def test_a_german_text_splits_at_its_own_abbreviations_and_says_numbers_in_german(tmp_path):
    path = tmp_path / "roman.txt"
    path.write_text(GERMAN)
    chunks = read_book(path, tokens, 200, IngestOptions(language="de")).chunks
    texts = [c.text for c in chunks]
    assert "„Guten Tag“, sagte Dr. Müller." in texts and "Er hat 25 Bücher, z.B. Romane und Gedichte." in texts
    spoken = " ".join(c.normalized for c in chunks)
    assert "fünfundzwanzig" in spoken and "neunzehnhundertneunundneunzig" in spoken
    assert "Im Jahr 1999 kaufte Frl. Weber 3 Häuser." in texts and "»Wirklich?«, fragte sie." in texts
    assert not any(q in spoken for q in "„“»«")


def test_amounts_percentages_decimals_and_dates_are_said_in_the_books_language():
    from pocket_batch.ingest.normalize import Normalizer

    text = "Il a payé 5 € et 12,50 € le 3/4/2024, soit 20 %."
    assert Normalizer("fr")(text) == ("Il a payé cinq euros et douze euros et cinquante centimes le trois avril "
                                      "deux mille vingt-quatre, soit vingt pour cent.")
    german = Normalizer("de")("Er zahlte 7,5 % mehr, am 1/5/1999 genau 20 €.")
    assert german == "Er zahlte sieben Komma fünf Prozent mehr, am ersten Mai neunzehnhundertneunundneunzig genau zwanzig Euro."
