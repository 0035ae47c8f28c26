"""`--keep "wer<=0.1,similarity>=0.8"`: which takes a corpus publishes, by their scores.

A condition on a score the take does not have fails, and says so: a recognizer that could not
hear a voice measured no word error rate, and "wer<=0.1" asks for one.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

from pocket_batch.core.errors import PocketBatchError

# What a filter can name: the quality gates' scores (Verdict.scores) and the row's own measures.
COLUMNS = {
    "wer": "word error rate against the text",
    "similarity": "speaker similarity to the voice's reference",
    "drift": "similarity to the voice's centroid",
    "pace": "voiced seconds a word",
    "snr_db": "signal-to-noise ratio",
    "clipped": "clipped samples",
    "longest_pause": "longest pause inside the take, seconds",
    "end_db": "level of the last frames",
    "mos_sig": "DNSMOS signal", "mos_bak": "DNSMOS background", "mos_ovrl": "DNSMOS overall",
    "duration": "seconds of audio",
}
OPERATORS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq,
             "=": operator.eq, "!=": operator.ne}
CONDITION = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|==|!=|<|>|=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*$", re.I)


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: float

    def why_not(self, row: dict) -> str | None:
        """None when the row meets it, else the reason in a few words."""
        measured = row.get(self.column)
        if measured is None:
            return f"{self.column} not measured"
        if not OPERATORS[self.op](float(measured), self.value):
            return f"{self.column} {measured:g} fails {self}"
        return None

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.value:g}"


@dataclass(frozen=True)
class Keep:
    conditions: tuple[Condition, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> Keep:
        if not text or not text.strip():
            return cls()
        conditions = []
        for part in text.split(","):
            found = CONDITION.match(part)
            if not found:
                raise PocketBatchError(f"--keep {text!r}: {part.strip()!r} is not a condition such as wer<=0.1 "
                                       f"(scores: {', '.join(COLUMNS)})")
            column, op, value = found.group(1).lower(), found.group(2), float(found.group(3))
            if column not in COLUMNS:
                raise PocketBatchError(f"--keep {text!r}: no score {column!r} (scores: {', '.join(COLUMNS)})")
            conditions.append(Condition(column, op, value))
        return cls(tuple(conditions))

    def reasons(self, row: dict) -> list[str]:
        """Why the row is not kept: empty when it meets every condition."""
        return [why for c in self.conditions if (why := c.why_not(row))]

    def __bool__(self) -> bool:
        return bool(self.conditions)

    def __str__(self) -> str:
        return ",".join(map(str, self.conditions))
