"""Executors own parallelism: they run SynthWorkers in-process or as a Ray actor pool (synth/ray_pool.py).

Both take the same tasks and yield, as they finish, a SynthOutput or — once a task
has failed on every allowed attempt — a SynthFailure; nothing else in the pipeline
knows which executor runs. Ray is imported only in synth/ray_backend.py.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator

from pocket_batch.core.errors import one_line
from pocket_batch.synth.voices import Voice
from pocket_batch.synth.worker import SynthFailure, SynthOutput, SynthTask, SynthWorker

WorkerFactory = Callable[[], SynthWorker]
Result = SynthOutput | SynthFailure


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


class InProcessExecutor:
    """Runs one worker in this process: for debugging and tiny jobs (`--workers 0`); no timeouts."""

    def __init__(self, make_worker: WorkerFactory, retries: int = 0):
        self.worker = make_worker()
        self.retries = retries

    def __enter__(self) -> InProcessExecutor:
        self.warm_up()
        return self

    def __exit__(self, *exc) -> None:
        self.worker = None

    def warm_up(self) -> list[str]:
        return [self.worker.setup()]

    def map(self, tasks: Iterable[SynthTask], voices: Iterable[Voice]) -> Iterator[Result]:
        for voice in voices:
            self.worker.add_voice(voice)
        todo, attempts = deque(tasks), Attempts(self.retries)
        while todo:
            call = take(todo, self.worker.call_size)
            try:
                yield from self.worker.synthesize_many(call)
            except Exception as exc:  # noqa: BLE001 - recorded against the chunks, the others go on
                yield from attempts.fail(call, one_line(exc), todo)


def make_executor(make_worker: WorkerFactory, workers: int, cpus_per_worker: int = 1,
                  address: str | None = None, retries: int = 0, timeout: float | None = None):
    if workers == 0:
        return InProcessExecutor(make_worker, retries)
    from pocket_batch.synth.ray_pool import RayExecutor

    return RayExecutor(make_worker, workers, cpus_per_worker, address, retries, timeout)
