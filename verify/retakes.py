"""A chunk that fails verification is taken again with a new seed, up to the retries allowed.

The best take is kept: the first that passes, else the one with fewest flags and lowest word
error rate, so the book stays whole and what still fails is reported. How a take is made is
the caller's (`Retake`): this loop only decides which chunks need another and which take wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pocket_batch.core.records import Chunk, Take, Verdict
from pocket_batch.verify.verifier import ReadAudio, Verifier


@dataclass
class Takes:
    """One distinct chunk's takes so far, each with its verdict."""

    chunk: Chunk
    keys: list[str]
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def best(self) -> int:
        passing = [i for i, v in enumerate(self.verdicts) if v.passed]
        if passing:
            return passing[0]
        return min(range(len(self.verdicts)), key=lambda i: (len(self.verdicts[i].flags), self.verdicts[i].wer, i))

    @property
    def kept_key(self) -> str:
        return self.keys[self.best]

    @property
    def kept_verdict(self) -> Verdict:
        return self.verdicts[self.best]

    @property
    def all(self) -> tuple[Take, ...]:
        return tuple(Take(n, key, verdict) for n, (key, verdict) in enumerate(zip(self.keys, self.verdicts)))


# Makes attempt `n` of each chunk: appends its key to `keys` (nothing where synthesis failed every retry)
# and says how many takes it synthesized.
Retake = Callable[[list[Takes], int], int]


def verify_takes(verifier: Verifier, first: dict[str, Chunk], retake: Retake,
                 read: ReadAudio) -> tuple[dict[str, Takes], int]:
    """Hear each first take (by key; already synthesized), and retake the failing ones: the takes by first
    key, and how many retakes were synthesized."""
    takes = {key: Takes(chunk, [key]) for key, chunk in first.items()}
    synthesized = 0
    for attempt in range(verifier.options.retries + 1):
        if attempt:
            todo = [t for t in takes.values() if len(t.verdicts) == attempt and not t.verdicts[-1].passed]
            if not todo:
                break
            synthesized += retake(todo, attempt)
        for t in takes.values():
            if len(t.keys) > len(t.verdicts):
                t.verdicts.append(verifier.verdict(t.keys[-1], t.chunk.normalized, read))
    return takes, synthesized
