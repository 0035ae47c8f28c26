"""From what the recognizer heard to a verdict on one chunk: pass, or flags that say what is wrong.

The decision rests on alignment: the text must align to the audio, and fit it nearly as
well as free recognition does. The free transcript then says *what* is wrong (which text
words were not heard, which words were heard twice); on its own it decides only past
`max_wer`, since a small recognizer mishears correct speech too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pocket_batch.core.config import VerifyOptions
from pocket_batch.core.records import Verdict, WordTime
from pocket_batch.verify.hearing import Backend, Hearing, Span
from pocket_batch.verify.sound import measure
from pocket_batch.verify.words import Edit, edits, word_error_rate, words

# Words too common to count as heard twice: a recognizer inserts them into correct speech.
COMMON = frozenset("a an and are as at be but by for from had has have he her his i in is it its of on or "
                   "our she so that the their them then there they this to us was we were what when which "
                   "who will with you".split())
REPEAT_WINDOW = 4  # a content word heard twice within this many words is a repetition


def verify_audio(backend: Backend | None, audio: np.ndarray, rate: int, text: str, options: VerifyOptions) -> Verdict:
    """What one take measures on its own: its words heard (without a backend: not checked) and its sound."""
    sound = measure(audio, rate, options.checks) if {"voice", "quality", "mos"} & set(options.checks) else None
    if backend is None:
        return Verdict(backend="", transcript="", wer=0.0, misfit=None, sound=sound, words_checked=None)
    expected = words(text)
    max_wer = backend.max_wer if options.max_wer is None else options.max_wer
    hearing = backend.hear(audio, rate, expected, max_wer)
    return replace(judge(hearing, expected, rate, options, backend.name, max_wer), sound=sound)


def judge(hearing: Hearing, expected: list[str], rate: int, options: VerifyOptions, backend: str,
          max_wer: float) -> Verdict:
    script = edits(expected, hearing.transcript)
    wer = word_error_rate(expected, hearing.transcript)
    flags = []
    misfit_words = _misfit_runs(hearing.spans or [], options.max_word_misfit)
    text_misfits = (hearing.spans is None or (hearing.misfit or 0.0) > options.max_misfit or bool(misfit_words))
    if text_misfits or wer > max_wer:
        flags += _what_is_wrong(script, expected, hearing, misfit_words, options.max_misfit, wer > max_wer)
    # Speech the text does not have can hide in a stretched alignment: the transcript alone tells.
    if repeated := _repetitions(script, hearing.transcript, expected):
        flags.append(f"repeated words: {' '.join(repeated)}")
    elif extra := _inserted_run(script, hearing.transcript):
        flags.append(f"extra words: {' '.join(extra)}")
    if wer > max_wer and not any(f.startswith("garbled:") for f in flags):
        flags.append(f"garbled: word error rate {wer:.2f} over {max_wer:.2f}")
    spoken = [s for s in hearing.spans or [] if s.word]
    timings = tuple(WordTime(s.word, round(s.start * rate), round(s.end * rate)) for s in spoken)
    return Verdict(backend=backend, transcript=" ".join(hearing.transcript), wer=round(wer, 4),
                   misfit=None if hearing.misfit is None else round(hearing.misfit, 4),
                   flags=tuple(dict.fromkeys(flags)), words=timings)


def _what_is_wrong(script: list[Edit], expected: list[str], hearing: Hearing, misfit_words: list[str],
                   max_misfit: float, misheard: bool) -> list[str]:
    """Name the failure from the transcript: words not heard, a garbled ending, or a garbled whole."""
    if not hearing.transcript:
        return ["garbled: no words heard"]
    flags = []
    ending = _unheard_ending(script, expected)
    missing = _deleted_run(script, expected)
    if ending:
        flags.append(f"garbled ending: {' '.join(ending)}")
    elif missing:
        flags.append(f"missing words: {' '.join(missing)}")
    elif misfit_words:
        flags.append(f"missing words: {' '.join(misfit_words)}")
    if not flags and hearing.spans is None and not misheard:  # misheard: the WER flag says it
        flags.append("garbled: the text does not align")
    elif not flags and hearing.misfit is not None and hearing.misfit > max_misfit:
        flags.append(f"garbled: the text fits poorly ({hearing.misfit:.2f})")
    return flags


def _unheard_ending(script: list[Edit], expected: list[str]) -> list[str]:
    """The text words after the last one heard right, when there are two or more of them."""
    last_ok = max((e.ref for e in script if e.op == "ok"), default=None)
    if last_ok is None:  # nothing heard right: not an ending gone wrong, the whole of it
        return []
    tail = expected[last_ok + 1:]
    return tail if len(tail) >= 2 else []


def _deleted_run(script: list[Edit], expected: list[str]) -> list[str]:
    """The longest run of two or more text words the recognizer did not hear, if any."""
    best: list[str] = []
    run: list[str] = []
    for edit in script + [Edit("ok", None, None)]:
        if edit.op == "del":
            run.append(expected[edit.ref])
        elif edit.op != "ins":
            best, run = (run if len(run) > len(best) else best), []
    return best if len(best) >= 2 else []


def _inserted_run(script: list[Edit], heard: list[str]) -> list[str]:
    """The longest run of two or more heard words that are not in the text, between words that are."""
    best: list[str] = []
    run: list[str] = []
    seen_ok = False
    for edit in script:
        if edit.op == "ins":
            run.append(heard[edit.hyp])
        else:
            if edit.op == "ok" and seen_ok and len(run) > len(best):
                best = run
            seen_ok = seen_ok or edit.op == "ok"
            run = []
    return best if len(best) >= 2 else []


def _misfit_runs(spans: list[Span], limit: float) -> list[str]:
    """Two or more text words in a row that fit their audio far worse than free recognition does."""
    best: list[str] = []
    run: list[str] = []
    for span in [s for s in spans if s.word] + [Span("", 0, 0, 0.0)]:
        if span.word and span.misfit is not None and span.misfit > limit:
            run.append(span.word)
        else:
            best, run = (run if len(run) > len(best) else best), []
    return best if len(best) >= 2 else []


def _repetitions(script: list[Edit], heard: list[str], expected: list[str]) -> list[str]:
    """Content words heard twice close together, once more than the text says them: one of the two
    hearings is an extra word, not a mishearing of a text word."""
    inserted = {e.hyp for e in script if e.op == "ins"}
    found = []
    for i, word in enumerate(heard):
        if len(word) < 3 or word in COMMON or word in found:
            continue
        near = [j for j in range(i + 1, min(i + 1 + REPEAT_WINDOW, len(heard))) if heard[j] == word]
        if near and ({i, *near} & inserted) and _near_once(expected, word):
            found.append(word)
    return found


def _near_once(expected: list[str], word: str) -> bool:
    """The text says `word`, but never twice close together (a recognizer may drop the words between)."""
    places = [i for i, w in enumerate(expected) if w == word]
    return bool(places) and all(b - a > 2 * REPEAT_WINDOW for a, b in zip(places, places[1:]))
