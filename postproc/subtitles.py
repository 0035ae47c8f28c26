"""SRT and WebVTT: one cue per chunk, times exact from sample counts, the original text.

With word timings (from verification), the WebVTT cue carries a timestamp tag before each
word, and the SRT becomes short groups of words, each timed to the words it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pocket_batch.core.files import atomic_open
from pocket_batch.verify.words import words


WORDS_PER_GROUP = 6  # an SRT line of word-timed subtitles: short enough to follow the voice


@dataclass(frozen=True)
class Cue:
    start: int  # samples from the start of the book
    end: int
    text: str
    words: tuple[tuple[str, int, int], ...] = ()  # the text's words as shown, each (word, start, end)


def shown_words(text: str, aligned: list[tuple[str, int, int]]) -> tuple[tuple[str, int, int], ...]:
    """The aligned words as the text writes them ("Times," not "times") when the two match word for word;
    otherwise (numbers spelled out, say) the aligned words themselves."""
    tokens = text.split()
    pieces = [words(token) for token in tokens]
    if [w for piece in pieces for w in piece] != [w for w, _, _ in aligned]:
        return tuple(aligned)
    shown, i = [], 0
    for token, piece in zip(tokens, pieces):
        if not piece:  # a dash or other mark alone: it joins the word before it
            if shown:
                word, start, end = shown[-1]
                shown[-1] = (f"{word} {token}", start, end)
            continue
        shown.append((token, aligned[i][1], aligned[i + len(piece) - 1][2]))
        i += len(piece)
    return tuple(shown)


def word_groups(cues: list[Cue], size: int = WORDS_PER_GROUP) -> list[Cue]:
    """Each word-timed cue cut into groups of a few words, each from its first word's start to its last's end."""
    groups = []
    for cue in cues:
        if not cue.words:
            groups.append(cue)
            continue
        for i in range(0, len(cue.words), size):
            group = cue.words[i:i + size]
            groups.append(Cue(group[0][1], group[-1][2], " ".join(w for w, _, _ in group), group))
    return groups


def timestamp(samples: int, rate: int, separator: str) -> str:
    ms = round(samples * 1000 / rate)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{ms:03d}"


def write_srt(path: Path, cues: list[Cue], rate: int) -> None:
    with atomic_open(path) as f:
        for n, cue in enumerate(cues, start=1):
            f.write(f"{n}\n{timestamp(cue.start, rate, ',')} --> {timestamp(cue.end, rate, ',')}\n{cue.text}\n\n")


def write_vtt(path: Path, cues: list[Cue], rate: int) -> None:
    with atomic_open(path) as f:
        f.write("WEBVTT\n\n")
        for cue in cues:
            f.write(f"{timestamp(cue.start, rate, '.')} --> {timestamp(cue.end, rate, '.')}\n{_vtt_text(cue, rate)}\n\n")


def _vtt_text(cue: Cue, rate: int) -> str:
    if not cue.words:
        return _vtt_escape(cue.text)
    # The first word needs no tag: it starts with the cue; a timestamp tag must lie inside the cue's times.
    parts = [f"<c>{_vtt_escape(cue.words[0][0])}</c>"]
    parts += [f"<{timestamp(min(max(start, cue.start), cue.end), rate, '.')}><c>{_vtt_escape(word)}</c>"
              for word, start, _ in cue.words[1:]]
    return " ".join(parts)


def _vtt_escape(text: str) -> str:
    # "-->" would end the timing line early; & and < start WebVTT's escapes and tags
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
