"""From a hearing to flags: the decision rests on alignment, the transcript names what is wrong."""

from pocket_batch.core.config import VerifyOptions
from pocket_batch.verify.hearing import Hearing, Span
from pocket_batch.verify.judge import judge

TEXT = "it was the age of wisdom it was the age of foolishness".split()
OPTIONS = VerifyOptions()


def aligned(text, misfits=None):
    misfits = misfits or [0.0] * len(text)
    return [Span(w, i * 0.3, i * 0.3 + 0.25, m) for i, (w, m) in enumerate(zip(text, misfits))]


def verdict(transcript, spans, misfit, max_wer=0.95):
    return judge(Hearing(transcript.split(), spans, misfit), TEXT, 24_000, OPTIONS, "test", max_wer)


def test_a_fitting_alignment_passes_despite_recognizer_errors():
    v = verdict("it was the edge of wisdom that was the age of foolish ness", aligned(TEXT), 0.01)
    assert v.passed and v.wer > 0
    assert v.words[1].word == "was" and v.words[1].start == round(0.3 * 24_000)


def test_words_not_heard_in_the_middle_are_missing():
    v = verdict("it was the age of wisdom it was foolishness", None, None)
    assert v.flags == ("missing words: the age of",)


def test_a_wrong_ending_is_garbled():
    v = verdict("it was the age of wisdom it was a tube", aligned(TEXT), 0.6)
    assert v.flags[0] == "garbled ending: the age of foolishness"


def test_a_content_word_heard_twice_is_repeated_even_when_the_text_aligns():
    v = verdict("it was the age of wisdom wisdom it was the age of foolishness", aligned(TEXT), 0.05)
    assert v.flags == ("repeated words: wisdom",)


def test_extra_words_between_heard_ones():
    v = verdict("it was the age of wisdom and then some more it was the age of foolishness", aligned(TEXT), 0.4)
    assert "extra words: and then some more" in v.flags


def test_two_words_that_fit_far_worse_than_free_recognition_are_missing():
    misfits = [0.0] * len(TEXT)
    misfits[3] = misfits[4] = 6.0
    v = verdict("it was the age of wisdom it was the age of foolishness", aligned(TEXT, misfits), 0.05)
    assert v.flags == ("missing words: age of",)


def test_nothing_heard_and_a_high_word_error_rate():
    assert verdict("", None, None).flags == ("garbled: no words heard",)
    v = verdict("one two three four five six seven eight nine ten eleven twelve", aligned(TEXT), 0.0, max_wer=0.5)
    assert v.flags[-1] == "garbled: word error rate 1.00 over 0.50"
