"""Cutting a job into calls, and counting each task's failed attempts: shared by both executors."""

from __future__ import annotations

from collections import Counter, deque

from pocket_batch.synth.pool.worker import SynthFailure, SynthTask


class Attempts:
    """Counts each task's failed attempts; a task is retried until it has used them all."""

    def __init__(self, retries: int):
        self.retries = retries
        self.failed: Counter[str] = Counter()

    def fail(self, tasks: list[SynthTask], reason: str, todo: deque[SynthTask]) -> list[SynthFailure]:
        """Count a failed attempt for each task; put back those with attempts left, return the others."""
        failures = []
        for task in reversed(tasks):
            self.failed[task.key] += 1
            if self.failed[task.key] > self.retries:
                failures.append(SynthFailure(task.key, reason, self.failed[task.key]))
            else:
                todo.appendleft(task)
        return failures[::-1]


def take(todo: deque[SynthTask], n: int) -> list[SynthTask]:
    return [todo.popleft() for _ in range(min(n, len(todo)))]


def deal_by_length(tasks: list[SynthTask], call_size: int) -> list[SynthTask]:
    """Reorder tasks so that each run of `call_size` holds about as much text as the others.

    For a job of one call per worker: the job ends when the worker with the most to read
    finishes, and neighbouring chunks (one chapter, one CSV region) can differ a lot in
    length. Longest first, each to the call with the least text so far that has room.
    """
    calls: list[list[SynthTask]] = [[] for _ in range(-(-len(tasks) // call_size))]
    sizes = [min(call_size, len(tasks) - n * call_size) for n in range(len(calls))]
    text = [0] * len(calls)
    for task in sorted(tasks, key=lambda t: -len(t.text)):
        n = min((n for n in range(len(calls)) if len(calls[n]) < sizes[n]), key=lambda n: text[n])
        calls[n].append(task)
        text[n] += len(task.text)
    return [task for call in calls for task in call]
