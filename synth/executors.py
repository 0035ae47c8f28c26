"""Executors own parallelism: they run SynthWorkers in-process or as a Ray actor pool.

Both take the same tasks and yield, as they finish, a SynthOutput or — once a task
has failed on every allowed attempt — a SynthFailure; nothing else in the pipeline
knows which executor runs. Ray is imported only here, inside methods.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pocket_batch.core.errors import PocketBatchError, one_line
from pocket_batch.core.measure import peak_rss_mb
from pocket_batch.synth.voices import Voice
from pocket_batch.synth.worker import SynthFailure, SynthOutput, SynthTask, SynthWorker

WorkerFactory = Callable[[], SynthWorker]
Result = SynthOutput | SynthFailure
IN_FLIGHT_PER_WORKER = 2  # one running, one queued: a worker never idles waiting for the driver
log = logging.getLogger("pocket_batch")


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


@dataclass
class _Slot:
    """One actor and its calls in submission order: the first is running, the rest queue behind it."""

    actor: Any
    calls: deque = field(default_factory=deque)  # (ObjectRef, [SynthTask...], or None for the model load)
    head_since: float = field(default_factory=time.monotonic)  # when the running call started

    def push(self, ref, tasks: list[SynthTask] | None) -> None:
        if not self.calls:
            self.head_since = time.monotonic()
        self.calls.append((ref, tasks))

    def pop(self) -> tuple[Any, list[SynthTask] | None]:
        call = self.calls.popleft()
        self.head_since = time.monotonic()
        return call

    def running(self) -> list[SynthTask] | None:
        return self.calls[0][1] if self.calls else None

    def queued(self) -> list[SynthTask]:
        return [task for _, tasks in list(self.calls)[1:] if tasks is not None for task in tasks]

    def queued_calls(self) -> int:
        return sum(tasks is not None for _, tasks in list(self.calls)[1:])


class RayExecutor:
    """A pool of SynthWorker actors, each holding one model; tasks stream in, results stream out.

    Each call carries `call_size` tasks (one, or a few batches' worth for a batching worker).
    A worker that dies, or runs a call past `timeout` seconds per chunk in it, is replaced
    by a fresh actor; the chunks it was running are retried up to `retries` times, the
    calls queued behind it are resubmitted without counting an attempt.
    """

    def __init__(self, make_worker: WorkerFactory, workers: int, cpus_per_worker: int = 1,
                 address: str | None = None, retries: int = 0, timeout: float | None = None):
        self.make_worker = make_worker
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.address = address
        self.retries = retries
        self.timeout = timeout
        self.slots: list[_Slot] = []
        self.voice_refs: list = []
        self.replaced = 0  # workers replaced after dying or timing out
        self.worker_names: list[str] = []  # "host:pid" of the workers started on entry (not replacements)
        self.started_ray = False

    def __enter__(self) -> RayExecutor:
        if not ray_running():
            start_ray(self.address, num_cpus=self.workers * self.cpus_per_worker)
            self.started_ray = True
        import ray

        if not self.started_ray:
            self._fit_to_cluster(ray.cluster_resources().get("CPU", 0))
        # The factory runs here, in the driver: actors get a pickled, not-yet-loaded worker.
        self.template = self.make_worker()
        self.actor_class = ray.remote(num_cpus=self.cpus_per_worker, max_restarts=0)(_Actor)
        self.slots = [self._start_slot() for _ in range(self.workers)]
        self.worker_names = self.warm_up()  # a model that cannot load stops the run here, in one line
        return self

    def _fit_to_cluster(self, cpus: float) -> None:
        """More workers than an existing cluster has CPUs for would wait forever to be placed."""
        if cpus < self.cpus_per_worker:
            raise PocketBatchError(f"the Ray cluster has {cpus:g} CPUs: no room for a worker of {self.cpus_per_worker}")
        fit = int(cpus) // self.cpus_per_worker
        if self.workers > fit:
            log.warning("the Ray cluster has %g CPUs: %d workers instead of %d", cpus, fit, self.workers)
            self.workers = fit

    def __exit__(self, *exc) -> None:
        import ray

        for slot in self.slots:
            ray.kill(slot.actor)
        self.slots = []
        if self.started_ray:
            ray.shutdown()

    def warm_up(self) -> list[str]:
        """Wait until every worker has loaded its model; returns their names."""
        import ray

        names = []
        for slot in self.slots:
            while slot.calls and slot.running() is None:
                ref, _ = slot.pop()
                try:
                    names.append(ray.get(ref))
                except ray.exceptions.RayTaskError as exc:
                    raise _setup_error(exc) from None
        return names

    def worker_peak_rss_mb(self) -> list[float]:
        import ray

        return ray.get([slot.actor.peak_rss_mb.remote() for slot in self.slots])

    def _start_slot(self) -> _Slot:
        slot = _Slot(self.actor_class.remote(self.template))
        slot.push(slot.actor.setup.remote(), None)  # starts loading now; calls on an actor run in order
        for ref in self.voice_refs:
            slot.actor.add_voice.remote(ref)
        return slot

    def _replace(self, slot: _Slot, todo: deque[SynthTask]) -> None:
        """Kill the slot's actor, put back the tasks queued behind its running call, start a new one."""
        import ray

        ray.kill(slot.actor, no_restart=True)
        todo.extendleft(reversed(slot.queued()))
        fresh = self._start_slot()
        slot.actor, slot.calls, slot.head_since = fresh.actor, fresh.calls, fresh.head_since
        self.replaced += 1

    def map(self, tasks: Iterable[SynthTask], voices: Iterable[Voice]) -> Iterator[Result]:
        import ray

        self.voice_refs = [ray.put(voice) for voice in voices]  # shipped once per actor, not per task
        for slot in self.slots:
            for ref in self.voice_refs:
                slot.actor.add_voice.remote(ref)
        todo, attempts, setup_deaths = deque(tasks), Attempts(self.retries), 0
        # Calls of a few batches each, but a short job is still shared out between all workers,
        # evenly by how much text each call holds.
        self.call_size = min(self.template.call_size, max(1, -(-len(todo) // len(self.slots))))
        if len(todo) <= self.call_size * len(self.slots):
            todo = deque(deal_by_length(list(todo), self.call_size))
        while True:
            self._fill(todo)
            owners = {ref: slot for slot in self.slots for ref, _ in slot.calls}
            if not owners:
                return
            ready, _ = ray.wait(list(owners), num_returns=1, timeout=self._until_next_deadline())
            if not ready:
                for slot in self._overdue():
                    call = slot.running()
                    self._replace(slot, todo)
                    yield from attempts.fail(call, f"no result within {self.timeout:g} s per chunk; worker restarted", todo)
                continue
            slot = owners[ready[0]]
            ref, call = slot.calls[0]  # calls on one actor finish in order: the ready one is the running one
            try:
                results = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the call raised; the worker itself is fine
                slot.pop()
                if call is None:
                    raise _setup_error(exc) from None
                yield from attempts.fail(call, one_line(exc.cause or exc), todo)
                continue
            except ray.exceptions.RayError as exc:  # the worker process died (killed, OOM, node lost)
                self._replace(slot, todo)
                if call is None:
                    setup_deaths += 1
                    if setup_deaths > self.retries:
                        raise PocketBatchError(f"workers keep dying while loading the model: {one_line(exc)}") from None
                else:
                    yield from attempts.fail(call, f"worker died: {one_line(exc)}", todo)
                continue
            slot.pop()
            if call is not None:
                yield from results

    def _fill(self, todo: deque[SynthTask]) -> None:
        """Round-robin, one call per worker per pass: every worker gets work before any gets a second call."""
        for in_flight in range(1, IN_FLIGHT_PER_WORKER + 1):
            for slot in self.slots:
                if todo and slot.queued_calls() + (slot.running() is not None) < in_flight:
                    call = take(todo, self.call_size)
                    slot.push(slot.actor.synthesize_many.remote(call), call)

    def _deadline(self, call: list[SynthTask]) -> float:
        """A call of n chunks may take as long as n chunks one after the other."""
        return self.timeout * len(call)

    def _until_next_deadline(self) -> float | None:
        if self.timeout is None:
            return None
        ends = [s.head_since + self._deadline(s.running()) for s in self.slots if s.running() is not None]
        return max(0.0, min(ends) - time.monotonic()) if ends else None

    def _overdue(self) -> list[_Slot]:
        now = time.monotonic()
        return [s for s in self.slots if s.running() is not None and now - s.head_since >= self._deadline(s.running())]


class _Actor:
    """The Ray face of a SynthWorker (Ray resolves the voice ObjectRefs before add_voice)."""

    def __init__(self, worker: SynthWorker):
        self.worker = worker

    def setup(self) -> str:
        import ray

        self.worker.setup()
        # Named by the node's address: which machine of the cluster made each chunk.
        self.worker.name = f"{ray.util.get_node_ip_address()}:{os.getpid()}"
        return self.worker.name

    def add_voice(self, voice: Voice) -> None:
        self.worker.add_voice(voice)

    def synthesize_many(self, tasks: list[SynthTask]) -> list[SynthOutput]:
        return self.worker.synthesize_many(tasks)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb()


def _setup_error(exc) -> PocketBatchError:
    cause = exc.cause
    if isinstance(cause, PocketBatchError):
        return cause
    return PocketBatchError(f"a worker could not load the model: {one_line(cause or exc)}")


def ray_running() -> bool:
    ray = sys.modules.get("ray")  # not imported yet: certainly not running, and importing is for start_ray
    return ray is not None and ray.is_initialized()


def start_ray(address: str | None, num_cpus: int) -> None:
    """Join `address` (or RAY_ADDRESS), else start a local cluster bound to loopback."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        # Without this Ray binds the machine's routable address even for a one-machine run.
        # Ray reads it once, at import: so nothing in pocket-batch imports ray before this line.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if address:
        try:
            ray.init(address=address, log_to_driver=False)
        except ConnectionError as exc:
            raise PocketBatchError(f"Ray cluster at {address}: {one_line(exc)}") from None
        return
    ray.init(num_cpus=max(num_cpus, os.cpu_count() or 1), include_dashboard=False,
             log_to_driver=False, configure_logging=False)


def make_executor(make_worker: WorkerFactory, workers: int, cpus_per_worker: int = 1,
                  address: str | None = None, retries: int = 0, timeout: float | None = None):
    if workers == 0:
        return InProcessExecutor(make_worker, retries)
    return RayExecutor(make_worker, workers, cpus_per_worker, address, retries, timeout)
