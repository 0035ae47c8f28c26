"""Words for comparison and the edit script between a text and a transcript: pure logic."""

from pocket_batch.verify.words import edits, word_error_rate, words


def test_words_drop_case_and_punctuation_keep_apostrophes():
    assert words("\u201cIt\u2019s the best\u2014of times,\u201d she said.") == ["it's", "the", "best", "of", "times", "she", "said"]
    assert words("well-known  twenty-one") == ["well", "known", "twenty", "one"]


def test_edit_script_names_each_word():
    ref, hyp = "it was the age of wisdom".split(), "it was an age of age of wisdom".split()
    script = edits(ref, hyp)
    assert [e.op for e in script].count("ins") == 2
    assert [e.op for e in script if e.ref is not None] == ["ok", "ok", "sub", "ok", "ok", "ok"]
    assert word_error_rate(ref, hyp) == 3 / 6


def test_wer_against_silence_and_of_nothing():
    assert word_error_rate(["a", "b"], []) == 1.0
    assert word_error_rate([], []) == 0.0
    assert word_error_rate(["a"], ["a"]) == 0.0
