r"""Marks a writer puts in the text, never read aloud:

    [pause 1.5s]                      a pause of that length where it stands (s or ms)
    [voice: marius] ... [/voice]      the text between read in another voice (may span paragraphs)
    [Nguyen](say: win)                the word as written, said as the respelling, everywhere in the book

Anything that starts like a mark but is not one (`[pause two]`, `[voice: marius` never closed) is an error
naming the mark, never text read aloud. Other brackets are text, a play's `[Pause.]` or `[Voice off]` (a warning
lists those that open with a mark's word), and `\[` writes a bracket that is never a mark's (`\[pause 2s]`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What looks like a mark: "[pause" and an argument, "[voice" and a colon, "[/voice", or a bracketed word followed
# by "(say"; a bracket after a backslash never is one.
UNESCAPED = r"(?<!\\)"
CANDIDATE = re.compile(UNESCAPED + r"\[\s*(?:pause\s+[^\]\s]|voice\s*:|/\s*voice\b)[^\]\n]*\]?|"
                       + UNESCAPED + r"\[[^\[\]\n]*\]\(\s*say\b[^)\n]*\)?", re.I)
PAUSE = re.compile(UNESCAPED + r"\[pause\s+(\d+(?:\.\d+)?)\s*(s|ms)\]", re.I)
VOICE = re.compile(UNESCAPED + r"\[voice:\s*([^\]\s](?:[^\]]*[^\]\s])?)\s*\]", re.I)
END_VOICE = re.compile(UNESCAPED + r"\[/voice\]", re.I)
SAY = re.compile(UNESCAPED + r"\[([^\[\]\n]*\S[^\[\]\n]*)\]\(say:\s*([^)\n]*\S)\s*\)")
NEAR_MARK = re.compile(UNESCAPED + r"\[\s*/?\s*(?:pause|voice)\b[^\]\n]{0,40}\]", re.I)
ESCAPED_BRACKET = "\\["
LONGEST_PAUSE = 30.0
EXPECTED = "[pause 1.5s], [voice: NAME] ... [/voice] or [word](say: respelling)"


class MarkError(ValueError):
    def __init__(self, mark: str, why: str):
        super().__init__(f"malformed mark {mark!r}: {why}")
        self.mark = mark


@dataclass(frozen=True)
class Run:
    """A stretch of a paragraph in one voice, marks removed; `pause` is an explicit pause after it."""

    text: str
    voice: str | None = None  # None: the narrator's
    pause: float | None = None
    role: str = "narration"  # or "voice mark", "dialogue", "attributed to NAME" (ingest/dialogue.py)


def check(text: str) -> None:
    """Every mark-like piece of `text` must be a whole, well-formed mark."""
    for candidate in CANDIDATE.finditer(text):
        mark = candidate.group(0)
        if not any(p.fullmatch(mark) for p in (PAUSE, VOICE, END_VOICE, SAY)):
            raise MarkError(mark, f"expected {EXPECTED}")
        if (pause := PAUSE.fullmatch(mark)) and _seconds(pause) > LONGEST_PAUSE:
            raise MarkError(mark, f"a pause is at most {LONGEST_PAUSE:g} s")


def near_marks(text: str) -> list[str]:
    """Brackets that open with a mark's word but are read as text (`[Pause.]`, `[Voice off]`): worth a warning,
    as a mistyped mark would be one."""
    return [m.group(0) for m in NEAR_MARK.finditer(text) if not CANDIDATE.match(text, m.start())]


def pronunciations(text: str) -> dict[str, str]:
    """word as written -> respelling, from every [word](say: ...) mark."""
    return {" ".join(m.group(1).split()): m.group(2) for m in SAY.finditer(text)}


def without_say(text: str) -> str:
    """The text as written: each pronunciation mark replaced by its word."""
    return SAY.sub(lambda m: m.group(1), text)


def runs(text: str, voice: str | None) -> tuple[list[Run], str | None]:
    """A paragraph cut at its pause and voice marks, given the voice a mark left open before it; returns
    its runs (an empty run only carries a pause) and the voice still open after it."""
    check(text)
    out: list[Run] = []
    at = 0
    for mark in re.finditer(f"{PAUSE.pattern}|{VOICE.pattern}|{END_VOICE.pattern}", text, re.I):
        piece = _literal(text[at:mark.start()])
        if piece:
            out.append(Run(piece, voice, role=_role(voice)))
        token = mark.group(0)
        if pause := PAUSE.fullmatch(token):
            if out and out[-1].pause is None:
                out[-1] = Run(out[-1].text, out[-1].voice, _seconds(pause), out[-1].role)
            else:
                out.append(Run("", voice, _seconds(pause), _role(voice)))
        elif opened := VOICE.fullmatch(token):
            if voice is not None:
                raise MarkError(token, f"[voice: {voice}] is still open; close it with [/voice] first")
            voice = opened.group(1)
        elif voice is None:
            raise MarkError(token, "no [voice: ...] is open")
        else:
            voice = None
        at = mark.end()
    piece = _literal(text[at:])
    if piece:
        out.append(Run(piece, voice, role=_role(voice)))
    return out, voice


def escape(text: str) -> str:
    """Text in which no bracket starts a mark (code, which is read as written)."""
    return text.replace("[", ESCAPED_BRACKET)


def _literal(text: str) -> str:
    return " ".join(text.replace(ESCAPED_BRACKET, "[").split())


def _role(voice: str | None) -> str:
    return "voice mark" if voice else "narration"


def _seconds(pause: re.Match) -> float:
    value = float(pause.group(1))
    return value / 1000 if pause.group(2).lower() == "ms" else value


def line_of(source: str, mark: str) -> int | None:
    """The line of the file where a mark is written (1-based), to name it in an error."""
    at = source.find(mark)
    return source.count("\n", 0, at) + 1 if at >= 0 else None
