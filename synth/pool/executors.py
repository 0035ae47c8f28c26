"""Executors own parallelism: they run SynthWorkers in-process or as a Ray actor pool (synth/pool/ray_pool.py).

Both take the same tasks and yield, as they finish, a SynthOutput or — once a task
has failed on every allowed attempt — a SynthFailure; nothing else in the pipeline
knows which executor runs. Ray is imported only in synth/pool/ray_backend.py.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from pocket_batch.core.errors import one_line
from pocket_batch.synth.pool.calls import Attempts, take
from pocket_batch.synth.model.voices import Voice
from pocket_batch.synth.pool.worker import SynthFailure, SynthOutput, SynthTask, SynthWorker

WorkerFactory = Callable[[], SynthWorker]
Result = SynthOutput | SynthFailure
BATCHES_PER_CALL = 4


class InProcessExecutor:
    """Runs one worker in this process: for debugging and tiny jobs (`--workers 0`); no timeouts."""

    def __init__(self, make_worker: WorkerFactory, retries: int = 0):
        self.worker = make_worker()
        self.retries = retries
        # One call at a time, each draining before the next: a few batches' worth for a batching worker.
        self.call_size = 1 if self.worker.batch_size <= 1 else BATCHES_PER_CALL * self.worker.batch_size

    def __enter__(self) -> InProcessExecutor:
        self.warm_up()
        return self

    def __exit__(self, *exc) -> None:
        self.worker.close()
        self.worker = None

    def warm_up(self) -> list[str]:
        return [self.worker.setup()]

    def map(self, tasks: Iterable[SynthTask], voices: Iterable[Voice]) -> Iterator[Result]:
        for voice in voices:
            self.worker.add_voice(voice)
        todo, attempts = deque(tasks), Attempts(self.retries)
        while todo:
            call = take(todo, self.call_size)
            done: set[str] = set()
            try:
                for output in self.worker.synthesize_stream(call):
                    done.add(output.key)
                    yield output
            except Exception as exc:  # noqa: BLE001 - recorded against the chunks, the others go on
                yield from attempts.fail([t for t in call if t.key not in done], one_line(exc), todo)


def make_executor(make_worker: WorkerFactory, workers: int, cpus_per_worker: int = 1,
                  address: str | None = None, retries: int = 0, timeout: float | None = None):
    if workers == 0:
        return InProcessExecutor(make_worker, retries)
    from pocket_batch.synth.pool.ray_pool import RayExecutor

    return RayExecutor(make_worker, workers, cpus_per_worker, address, retries, timeout)
