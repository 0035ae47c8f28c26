"""The pocketsphinx backend on real speech: a natural human reading and espeak-ng sentences.

The separation these tests rest on, measured over every fixture, is in docs/design.md
(tests/fixtures/speech/separation.py prints it).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.speech import SPEECH, espeak_word_bounds, sphinx_hearing, utterances

from pocket_batch.core.config import VerifyOptions
from pocket_batch.verify.backends import make_backend
from pocket_batch.verify.judge import verify_audio
from pocket_batch.verify.sphinx import SphinxBackend, blocks
from pocket_batch.verify.words import words

pytestmark = pytest.mark.model  # pocketsphinx hears real speech

OPTIONS = VerifyOptions()


@pytest.fixture(scope="module")
def reading():
    """The Dickens clauses, and a recognizer listening for their sentences (as a run does for its book's)."""
    rows = utterances("two_cities")
    return rows, make_backend(OPTIONS, [u.text for u in rows])


def check(backend, audio, rate, text):
    return verify_audio(backend, audio, rate, text, OPTIONS)


def test_every_clause_of_a_natural_reading_passes_with_its_own_text(reading):
    rows, backend = reading
    failed = {u.key: check(backend, u.audio, u.rate, u.text).flags for u in rows}
    assert {k: f for k, f in failed.items() if f} == {}


def test_every_clause_fails_with_another_clauses_text(reading):
    rows, backend = reading
    for i, u in enumerate(rows):
        other = rows[(i + len(rows) // 2) % len(rows)]
        assert not check(backend, u.audio, u.rate, other.text).passed, (u.key, other.key)


def edit(u, backend):
    """The clause with two words cut out, and with the same two words spliced in twice (cut at its own
    aligned word times), and with its last third replaced by noise."""
    words = check(backend, u.audio, u.rate, u.text).words
    k = len(words) // 2
    cut = np.concatenate([u.audio[: words[k - 1].start], u.audio[words[k].end:]])
    twice = np.concatenate([u.audio[: words[k].end], u.audio[words[k - 1].start:]])
    noisy = u.audio.copy()
    n = noisy.size // 3
    noisy[-n:] = np.random.default_rng(0).normal(0, 0.05, n).astype(np.float32)
    return cut, twice, noisy


def test_a_cut_a_repeat_and_a_noisy_tail_each_get_their_flag(reading):
    rows, backend = reading
    u = next(r for r in rows if r.key == "tc13")  # "the period was so far like the present period"
    cut, twice, noisy = edit(u, backend)
    assert check(backend, cut, u.rate, u.text).flags == ("missing words: so far",)
    assert check(backend, twice, u.rate, u.text).flags == ("repeated words: far",)
    assert check(backend, noisy, u.rate, u.text).flags[0].startswith("garbled ending: ")


def test_aligned_word_times_fall_inside_the_words_espeak_spoke():
    rows = utterances("espeak")
    bounds = espeak_word_bounds()
    backend = make_backend(OPTIONS, [u.text for u in rows])
    checked = 0
    for u in rows:
        verdict = check(backend, u.audio, u.rate, u.text)
        assert verdict.passed, (u.key, verdict.flags)
        assert [w.word for w in verdict.words] == [w.lower() for w, _, _ in bounds[u.key]]
        for word, (_, start, end) in zip(verdict.words, bounds[u.key]):
            middle = (word.start + word.end) / 2 / u.rate
            assert start - 0.05 <= middle <= end + 0.05, (u.key, word, start, end)
            checked += 1
    assert checked == sum(len(b) for b in bounds.values())


def test_a_word_missing_from_the_dictionary_is_spelled_from_words_in_it():
    backend = SphinxBackend()
    assert backend.aligner.lookup_word("windowsill") is None
    window, sill = backend.aligner.lookup_word("window"), backend.aligner.lookup_word("sill")
    assert backend._compound("windowsill") == f"{window} {sill}"
    assert backend._compound("qzxv") is None


def test_a_block_knows_every_pronunciation_the_dictionary_has():
    backend = SphinxBackend()
    assert backend._pronunciations("read") == ["R EH D", "R IY D"]  # read, read(2)
    assert backend._pronunciations("windowsill") == [backend._compound("windowsill")]
    assert backend._pronunciations("qzxv") == []


def test_a_verdict_does_not_depend_on_what_the_recognizer_heard_before(reading):
    rows, _ = reading
    texts = [u.text for u in rows]
    forward, backward = make_backend(OPTIONS, texts), make_backend(OPTIONS, texts)
    first = [check(forward, u.audio, u.rate, u.text) for u in rows[:3]]
    last = [check(backward, u.audio, u.rate, u.text) for u in rows[:3][::-1]][::-1]
    assert first == last


def test_a_runs_sentences_are_cut_in_order_into_blocks_of_about_fifty():
    sentences = tuple(f"s{n}" for n in range(501))
    cut = blocks(sentences, 50)
    assert [len(b) for b in cut] == [50] * 9 + [51] and sum(cut, ()) == sentences
    assert [len(b) for b in blocks(sentences[:74], 50)] == [74]
    assert [len(b) for b in blocks(sentences[:76], 50)] == [38, 38]
    assert blocks((), 50) == [()]


@pytest.fixture(scope="module")
def long_run(reading):
    """The clauses in the middle of a run of 136 sentences, which is cut into many language models."""
    from pocket_batch.benchmarks.synth import bench_sentences

    rows, _ = reading
    others = bench_sentences(120)
    return rows, make_backend(OPTIONS, others[:60] + [u.text for u in rows] + others[60:])


def test_in_a_long_run_a_clause_is_heard_as_in_a_run_of_its_block_alone(long_run):
    """What keeps hearing as fast in a book's last chapter as in its first: a chunk's language model and
    dictionary are its block's, whatever else the run holds."""
    rows, backend = long_run
    assert len(backend.blocks) > 20
    for u in rows:
        block = next(b for b in backend.blocks if " ".join(words(u.text)) in b)
        alone = make_backend(OPTIONS, list(block))
        assert len(alone.blocks) == 1
        assert check(backend, u.audio, u.rate, u.text) == check(alone, u.audio, u.rate, u.text), u.key


def test_a_verdict_does_not_depend_on_which_blocks_were_heard_before(long_run):
    """Each clause heard after chunks of three other blocks (the blocks' one decoder switched away and
    back) gets the verdict it got heard in order."""
    rows, backend = long_run
    in_order = [check(backend, u.audio, u.rate, u.text) for u in rows]
    noise = np.random.default_rng(1).normal(0, 0.05, 16_000).astype(np.float32)
    after_others = []
    for u in rows:
        own = " ".join(words(u.text))
        others = [block[0] for block in backend.blocks if own not in block][::9][:3]
        for text in others:
            check(backend, noise, 16_000, text)
        assert backend._block != backend._block_of[own]  # switched away: heard next after switching back
        after_others.append(check(backend, u.audio, u.rate, u.text))
    assert after_others == in_order


def test_the_installed_pocketsphinx_hears_exactly_as_pypis_own_build():
    """third_party/pocketsphinx's build computes a codebook's distances many codewords at once: every
    score, frame, transcript, span and misfit must be the number PyPI's wheel gives (recorded by
    tests/fixtures/speech/sphinx_upstream.py), on speech and on noise, heard with and without the right text."""
    expected = json.loads((SPEECH / "sphinx_upstream.json").read_text())
    assert json.loads(json.dumps(sphinx_hearing())) == expected
