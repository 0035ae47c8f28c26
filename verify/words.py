"""Words for comparison, and a word-level edit alignment between a text and a transcript.

Both sides are normalized the same way (case, punctuation); numbers are already
spelled out by ingest, so "1850" never meets "eighteen fifty" here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped; hyphens and dashes separate words, apostrophes do not."""
    return [w.replace("\u2019", "'") for w in WORD.findall(text.lower())]


@dataclass(frozen=True)
class Edit:
    op: str  # "ok", "sub", "del" (a text word not heard), "ins" (a heard word not in the text)
    ref: int | None  # index into the text's words
    hyp: int | None  # index into the transcript's words


def edits(ref: list[str], hyp: list[str]) -> list[Edit]:
    """A minimal edit script turning the text into the transcript (Levenshtein, ties favour matches)."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]),
                             cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    script, i, j = [], n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            script.append(Edit("ok" if ref[i - 1] == hyp[j - 1] else "sub", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            script.append(Edit("del", i - 1, None))
            i -= 1
        else:
            script.append(Edit("ins", None, j - 1))
            j -= 1
    return script[::-1]


def word_error_rate(ref: list[str], hyp: list[str]) -> float:
    """Substitutions, deletions and insertions over the text's word count (1.0 for text against silence)."""
    errors = sum(e.op != "ok" for e in edits(ref, hyp))
    return errors / max(len(ref), 1)
