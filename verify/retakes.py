"""A chunk that fails verification is taken again with a new seed, up to the retries allowed.

Every flag counts alike for a retake: words, voice, quality or pace. The first takes of every chunk
set each voice's norms (verify/gates.py), and every take is judged against them. The best take is
kept: the first that passes, else the best by `gates.rank` (fewest word flags, then voice, then
quality and pace; then the lower word error rate and the higher similarity), so the book stays whole
and what still fails is reported. How a take is made is the caller's (`Retake`): this loop only
decides which chunks need another and which take wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pocket_batch.core.records import Chunk, Take, Verdict
from pocket_batch.verify.gates import Gates, Heard, rank
from pocket_batch.verify.verifier import ReadAudio, Verifier
from pocket_batch.verify.words import words


@dataclass
class Takes:
    """One distinct chunk's takes so far, each with its verdict."""

    chunk: Chunk
    keys: list[str]
    voice: str = ""  # whose voice reads it: the gates' group
    verdicts: list[Verdict] = field(default_factory=list)  # judged

    @property
    def best(self) -> int:
        passing = [i for i, v in enumerate(self.verdicts) if v.passed]
        if passing:
            return passing[0]
        return min(range(len(self.verdicts)), key=lambda i: (rank(self.verdicts[i]), i))

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
# and says how many takes it synthesized (the caller counts them).
Retake = Callable[[list[Takes], int], int]


def verify_takes(verifier: Verifier, first: dict[str, tuple[Chunk, str]], retake: Retake, read: ReadAudio,
                 references: dict[str, np.ndarray] | None = None) -> tuple[dict[str, Takes], Gates, int]:
    """Hear each first take (by key, with its chunk and voice; already synthesized), set the voices' norms from
    them, and retake the flagged ones: the takes by first key, the gates that judged them, and how many
    retakes were synthesized."""
    takes = {key: Takes(chunk, [key], voice) for key, (chunk, voice) in first.items()}
    gates: Gates | None = None
    synthesized = 0
    for attempt in range(verifier.options.retries + 1):
        if attempt:
            todo = [t for t in takes.values() if len(t.verdicts) == attempt and not t.verdicts[-1].passed]
            if not todo:
                break
            synthesized += retake(todo, attempt)
        fresh = [(t, _heard(t, verifier.verdict(t.keys[-1], t.chunk.normalized, read)))
                 for t in takes.values() if len(t.keys) > len(t.verdicts)]
        if gates is None:
            gates = Gates(verifier.options, [heard for _, heard in fresh], references)
        for t, heard in fresh:
            t.verdicts.append(gates.judge(heard))
    return takes, gates or Gates(verifier.options, [], references), synthesized


def _heard(takes: Takes, verdict: Verdict) -> Heard:
    return Heard(takes.voice, len(words(takes.chunk.normalized)), verdict)
