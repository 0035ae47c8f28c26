"""Sentence splitting and fitting chunks to the model's token limit."""

from __future__ import annotations

from pocket_batch.ingest.sentences import fit_to_tokens, split_sentences


def words(text: str) -> int:
    return len(text.split())


def test_abbreviations_initials_and_decimals_do_not_end_sentences():
    text = ("Mr. Smith met Dr. J. R. Tolkien at 3 p.m. on Baker St. yesterday. He paid $3.50 for tea. "
            "\"Are you there?\" she asked. It was quiet... Then the U.S. Army came.")
    assert split_sentences(text) == [
        "Mr. Smith met Dr. J. R. Tolkien at 3 p.m. on Baker St. yesterday.",
        "He paid $3.50 for tea.",
        "\"Are you there?\" she asked.",
        "It was quiet...",
        "Then the U.S. Army came.",
    ]


def test_long_sentence_splits_at_clauses_within_limit_and_keeps_every_word():
    sentence = ("It was the best of times, it was the worst of times; it was the age of wisdom, "
                "it was the age of foolishness and it was the epoch of belief.")
    parts = fit_to_tokens(sentence, words, 8)
    assert all(words(p) <= 8 for p in parts)
    assert " ".join(parts).split() == sentence.split()
    assert parts[0].endswith(",") or parts[0].endswith(";")


def test_sentence_without_punctuation_splits_between_words():
    sentence = " ".join(f"word{n}" for n in range(30))
    parts = fit_to_tokens(sentence, words, 7)
    assert all(words(p) <= 7 for p in parts) and " ".join(parts) == sentence


def test_18_a_run_on_without_punctuation_is_cut_in_linear_work():
    import random

    rng = random.Random(1)
    for n in (20_000, 80_000):
        text = " ".join(rng.choice(["alpha", "river", "stone", "and", "light"]) for _ in range(n))
        counted: list[int] = []

        def tokens(piece: str, counted: list[int] = counted) -> int:
            counted.append(len(piece))
            return len(piece.split())

        parts = fit_to_tokens(text, tokens, 50)
        assert " ".join(parts) == text and max(len(p.split()) for p in parts) <= 50
        # Bisecting the whole run counts it once per level (~10 times); blocks first count it about twice.
        assert sum(counted) < 3 * len(text), (n, sum(counted) / len(text))
