"""The Ray executor: a pool of SynthWorker actors, each holding one model; tasks stream in, results out.

The state machine here (calls per actor, deadlines, retries, replacing a dead or
stuck actor) makes its Ray calls through a backend (synth/ray_backend.py), so it is
unit-tested against a fake one and runs against Ray for real everywhere else.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.synth.calls import Attempts, deal_by_length, take
from pocket_batch.synth.ray_backend import ActorDied, CallFailed, RayBackend
from pocket_batch.synth.voices import Voice
from pocket_batch.synth.worker import SynthFailure, SynthOutput, SynthTask, SynthWorker

IN_FLIGHT_PER_WORKER = 2  # one running, one queued: a worker never idles waiting for the driver


@dataclass
class _Slot:
    """One actor and its calls in submission order: the first is running, the rest queue behind it."""

    actor: Any
    calls: deque = field(default_factory=deque)  # (ref or stream, [SynthTask...] still to come, or None for the model load)
    head_since: float = field(default_factory=time.monotonic)  # when the running call started or last yielded

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
    """Each call carries `call_size` tasks (one, or a few batches' worth for a batching worker) and
    streams each chunk's audio back as soon as it is done.

    A worker that dies, or runs a call past `timeout` seconds per chunk still to come, is replaced
    by a fresh actor; the chunks of its running call that had not come back are retried up to
    `retries` times, the calls queued behind it are resubmitted without counting an attempt.
    """

    def __init__(self, make_worker: Callable[[], SynthWorker], workers: int, cpus_per_worker: int = 1,
                 address: str | None = None, retries: int = 0, timeout: float | None = None, backend=None):
        self.make_worker = make_worker
        self.workers = workers
        self.retries = retries
        self.timeout = timeout
        self.backend = backend or RayBackend(address, cpus_per_worker)
        self.slots: list[_Slot] = []
        self.voice_refs: list = []
        self.replaced = 0  # workers replaced after dying or timing out
        self.worker_names: list[str] = []  # "host:pid" of the workers started on entry (not replacements)

    def __enter__(self) -> RayExecutor:
        self.workers = self.backend.open(self.workers)
        # The factory runs here, in the driver: actors get a pickled, not-yet-loaded worker.
        self.template = self.make_worker()
        self.slots = [self._start_slot() for _ in range(self.workers)]
        self.worker_names = self.warm_up()  # a model that cannot load stops the run here, in one line
        return self

    def __exit__(self, *exc) -> None:
        for slot in self.slots:
            self.backend.kill(slot.actor)
        self.slots = []
        self.backend.close()

    def warm_up(self) -> list[str]:
        """Wait until every worker has loaded its model; returns their names."""
        names = []
        for slot in self.slots:
            while slot.calls and slot.running() is None:
                ref, _ = slot.pop()
                try:
                    names.append(self.backend.get(ref))
                except CallFailed as exc:
                    raise _setup_error(exc) from None
        return names

    def worker_peak_rss_mb(self) -> list[float]:
        return [self.backend.get(self.backend.call(slot.actor, "peak_rss_mb")) for slot in self.slots]

    def _start_slot(self) -> _Slot:
        slot = _Slot(self.backend.actor(self.template))
        slot.push(self.backend.call(slot.actor, "setup"), None)  # starts loading now; calls on an actor run in order
        for ref in self.voice_refs:
            self.backend.call(slot.actor, "add_voice", ref)
        return slot

    def _replace(self, slot: _Slot, todo: deque[SynthTask]) -> None:
        """Kill the slot's actor, put back the tasks queued behind its running call, start a new one."""
        self.backend.kill(slot.actor)
        todo.extendleft(reversed(slot.queued()))
        fresh = self._start_slot()
        slot.actor, slot.calls, slot.head_since = fresh.actor, fresh.calls, fresh.head_since
        self.replaced += 1

    def map(self, tasks: Iterable[SynthTask], voices: Iterable[Voice]) -> Iterator[SynthOutput | SynthFailure]:
        self.voice_refs = [self.backend.put(voice) for voice in voices]  # shipped once per actor, not per task
        for slot in self.slots:
            for ref in self.voice_refs:
                self.backend.call(slot.actor, "add_voice", ref)
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
            ready = self.backend.wait(list(owners), self._until_next_deadline())
            if not ready:
                for slot in self._overdue():
                    call = slot.running()
                    self._replace(slot, todo)
                    yield from attempts.fail(call, f"no result within {self.timeout:g} s per chunk; worker restarted", todo)
                continue
            slot = owners[ready[0]]
            ref, call = slot.calls[0]  # calls on one actor run in order: the ready one is the running one
            try:
                output = self.backend.get(ref) if call is None else self.backend.next(ref)
            except StopIteration:  # every chunk of the call has come back
                slot.pop()
                continue
            except CallFailed as exc:  # the call raised; the worker itself is fine
                slot.pop()
                if call is None:
                    raise _setup_error(exc) from None
                yield from attempts.fail(call, str(exc), todo)
                continue
            except ActorDied as exc:
                self._replace(slot, todo)
                if call is None:
                    setup_deaths += 1
                    if setup_deaths > self.retries:
                        raise PocketBatchError(f"workers keep dying while loading the model: {exc}") from None
                else:
                    yield from attempts.fail(call, f"worker died: {exc}", todo)
                continue
            if call is None:  # a fresh worker's model is loaded
                slot.pop()
                continue
            call[:] = [task for task in call if task.key != output.key]  # what a failure would still cost
            slot.head_since = time.monotonic()
            yield output

    def _fill(self, todo: deque[SynthTask]) -> None:
        """Round-robin, one call per worker per pass: every worker gets work before any gets a second call."""
        for in_flight in range(1, IN_FLIGHT_PER_WORKER + 1):
            for slot in self.slots:
                if todo and slot.queued_calls() + (slot.running() is not None) < in_flight:
                    call = take(todo, self.call_size)
                    slot.push(self.backend.stream(slot.actor, "synthesize", call), call)

    def _deadline(self, call: list[SynthTask]) -> float:
        """A call's n chunks still to come may take as long as n chunks one after the other; a call with
        none left is only ending its stream, and gets one chunk's time for that."""
        return self.timeout * max(1, len(call))

    def _until_next_deadline(self) -> float | None:
        if self.timeout is None:
            return None
        ends = [s.head_since + self._deadline(s.running()) for s in self.slots if s.running() is not None]
        return max(0.0, min(ends) - time.monotonic()) if ends else None

    def _overdue(self) -> list[_Slot]:
        now = time.monotonic()
        return [s for s in self.slots if s.running() is not None and now - s.head_since >= self._deadline(s.running())]


def _setup_error(exc: CallFailed) -> PocketBatchError:
    if isinstance(exc.cause, PocketBatchError):
        return exc.cause
    return PocketBatchError(f"a worker could not load the model: {exc}")
