"""The Ray executor: a pool of SynthWorker actors, each holding one model; tasks stream in, results out.

The state machine here (calls per actor, deadlines, retries, replacing a dead or
stuck actor) makes its Ray calls through a backend (synth/pool/ray_backend.py), so it is
unit-tested against a fake one and runs against Ray for real everywhere else.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.synth.pool.calls import Attempts, deal_by_length, take
from pocket_batch.synth.pool.ray_backend import ActorDied, CallFailed, RayBackend
from pocket_batch.synth.model.voices import Voice
from pocket_batch.synth.pool.worker import SynthFailure, SynthOutput, SynthTask, SynthWorker

CHECK_EVERY = 1.0  # seconds between looks for a stuck worker (sooner if a deadline falls sooner)


@dataclass(eq=False)
class _Call:
    slot: _Slot
    ref: Any  # a stream of chunks, or the model load's result
    tasks: list[SynthTask] | None  # the chunks still to come; None for the model load


@dataclass(eq=False)
class _Slot:
    """One actor and its calls in submission order. They run at once, but the worker takes their chunks
    into its rows in that order: the first synthesis call is the one running, the rest wait behind it."""

    actor: Any
    calls: list[_Call] = field(default_factory=list)
    since: float = field(default_factory=time.monotonic)  # when the running call started or last yielded

    def loading(self) -> bool:
        return any(call.tasks is None for call in self.calls)

    def running(self) -> _Call | None:
        return next((call for call in self.calls if call.tasks is not None), None)

    def outstanding(self) -> int:
        """Chunks sent to this worker and not yet back."""
        return sum(len(call.tasks) for call in self.calls if call.tasks is not None)


class RayExecutor:
    """Each call carries a few tasks (`call_size`: one, or a quarter of a batching worker's rows) and
    streams each chunk's audio back as soon as it is done. A worker holds `in_flight` tasks at once
    (its rows and a call's worth queued), topped up as chunks come back: its rows never wait for a
    call to drain, and a job's last chunks go to whichever worker has rows free, so the workers
    finish together instead of one idling while another works through a large call.

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
        self.calls: dict[Any, _Call] = {}  # every call in flight, by its ref
        self.hungry: dict[_Slot, None] = {}  # slots that may take another call, in the order they became so
        self.next_check = 0.0  # when to look for stuck workers next: not on every chunk, a pass is O(workers)
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
        self.slots, self.calls = [], {}
        self.backend.close()

    def warm_up(self) -> list[str]:
        """Wait until every worker has loaded its model; returns their names."""
        names = []
        for slot in self.slots:
            for call in [c for c in slot.calls if c.tasks is None]:
                self._remove(call)
                try:
                    names.append(self.backend.get(call.ref))
                except CallFailed as exc:
                    raise _setup_error(exc) from None
        return names

    def worker_peak_rss_mb(self) -> list[float]:
        return [self.backend.get(self.backend.call(slot.actor, "peak_rss_mb")) for slot in self.slots]

    def _start_slot(self) -> _Slot:
        # room for the pool's calls, the model load and a memory reading at once
        slot = _Slot(self.backend.actor(self.template, self.template.in_flight + 2))
        self._push(slot, self.backend.call(slot.actor, "setup"), None)  # starts loading now
        return slot

    def _push(self, slot: _Slot, ref, tasks: list[SynthTask] | None) -> None:
        if tasks is not None and slot.running() is None:
            slot.since = time.monotonic()
            if self.timeout is not None:
                self.next_check = min(self.next_check, slot.since + self.timeout)
        call = _Call(slot, ref, tasks)
        slot.calls.append(call)
        self.calls[ref] = call

    def _remove(self, call: _Call) -> None:
        running = call.slot.running()
        call.slot.calls.remove(call)
        del self.calls[call.ref]
        if call is running:
            call.slot.since = time.monotonic()
        if call.tasks is not None:
            self.hungry[call.slot] = None

    def _replace(self, slot: _Slot, todo: deque[SynthTask]) -> list[SynthTask]:
        """Kill the slot's actor and start a new one; its waiting calls' tasks go back to `todo` as they were.
        Returns the running call's tasks still to come (none while the model was loading: no call had started)."""
        self.backend.kill(slot.actor)
        running = [] if slot.running() is None else slot.running().tasks
        waiting = [task for call in slot.calls if call.tasks is not None for task in call.tasks]
        todo.extendleft(reversed(waiting[len(running):]))
        for call in list(slot.calls):
            del self.calls[call.ref]
        fresh = self._start_slot()
        slot.actor, slot.calls, slot.since = fresh.actor, fresh.calls, fresh.since
        for call in slot.calls:
            call.slot = slot
        self.hungry[slot] = None
        self.replaced += 1
        return running

    def map(self, tasks: Iterable[SynthTask], voices: Iterable[Voice]) -> Iterator[SynthOutput | SynthFailure]:
        self.voice_refs = [self.backend.put(voice) for voice in voices]  # stored once, sent with every call
        todo, attempts, self.setup_deaths = deque(tasks), Attempts(self.retries), 0
        # A job the first round of calls takes whole is shared out evenly by how much text each call holds.
        self.call_size = min(self.template.call_size, max(1, -(-len(todo) // len(self.slots))))
        if len(todo) <= self.template.in_flight * len(self.slots):
            todo = deque(deal_by_length(list(todo), self.call_size))
        self.hungry = dict.fromkeys(self.slots)
        self.next_check = time.monotonic()
        while True:
            self._fill(todo)
            if not self.calls:
                return
            ready = self.backend.wait(list(self.calls), self._until_next_check())
            for ref in ready:
                call = self.calls.get(ref)
                if call is not None:  # not gone with a worker replaced in this pass
                    yield from self._receive(call, todo, attempts)
            if self.timeout is not None and time.monotonic() >= self.next_check:
                for slot in self._overdue():
                    stuck = self._replace(slot, todo)
                    yield from attempts.fail(stuck, f"no result within {self.timeout:g} s per chunk; worker restarted", todo)

    def _receive(self, call: _Call, todo: deque[SynthTask], attempts: Attempts) -> Iterator[SynthOutput | SynthFailure]:
        """Take the next result of a ready call: a chunk's audio, the model loaded, the call's end or its failure."""
        slot = call.slot
        try:
            output = self.backend.get(call.ref) if call.tasks is None else self.backend.next(call.ref)
        except StopIteration:  # every chunk of the call has come back
            self._remove(call)
            return
        except CallFailed as exc:  # the call raised; the worker itself is fine
            self._remove(call)
            if call.tasks is None:
                raise _setup_error(exc) from None
            yield from attempts.fail(call.tasks, str(exc), todo)
            return
        except ActorDied as exc:
            loading = slot.loading()
            stuck = self._replace(slot, todo)
            if loading:
                self.setup_deaths += 1
                if self.setup_deaths > self.retries:
                    raise PocketBatchError(f"workers keep dying while loading the model: {exc}") from None
            yield from attempts.fail(stuck, f"worker died: {exc}", todo)
            return
        if call.tasks is None:  # a fresh worker's model is loaded: it may take calls now
            self._remove(call)
            self.hungry[slot] = None
            return
        call.tasks[:] = [task for task in call.tasks if task.key != output.key]  # what a failure would still cost
        slot.since = time.monotonic()
        self.hungry[slot] = None  # a row is free: the worker may have room for another call
        yield output

    def _fill(self, todo: deque[SynthTask]) -> None:
        """Round-robin, one call per worker per pass, until each holds its `in_flight` tasks: every worker gets
        work before any gets more. Only workers a chunk or call has left since the last pass are looked at.
        A fresh worker gets its first call once its model has loaded, so a call's clock never starts after
        the worker has begun it."""
        room = self.template.in_flight - self.call_size
        while True:
            takers = [slot for slot in self.hungry if not slot.loading() and slot.outstanding() <= room]
            if not takers:
                break
            for slot in takers:
                if not todo:
                    return  # they stay hungry: a retried chunk may come back to the queue
                call = take(todo, self.call_size)
                self._push(slot, self.backend.stream(slot.actor, "synthesize", call, *self.voice_refs), call)
        self.hungry = {}

    def _deadline(self, call: _Call) -> float:
        """A call's n chunks still to come may take as long as n chunks one after the other; a call with
        none left is only ending its stream, and gets one chunk's time for that."""
        return self.timeout * max(1, len(call.tasks))

    def _until_next_check(self) -> float | None:
        return None if self.timeout is None else max(0.0, self.next_check - time.monotonic())

    def _overdue(self) -> list[_Slot]:
        """The slots past their deadline; the next check is due at the earliest deadline still to come."""
        now = time.monotonic()
        ends = {s: s.since + self._deadline(s.running()) for s in self._timed()}
        self.next_check = min([now + CHECK_EVERY, *(end for end in ends.values() if end > now)])
        return [s for s, end in ends.items() if end <= now]

    def _timed(self) -> list[_Slot]:
        """Slots with a call running (a model loading has no deadline, and no call until it is loaded)."""
        return [s for s in self.slots if s.running() is not None]


def _setup_error(exc: CallFailed) -> PocketBatchError:
    if isinstance(exc.cause, PocketBatchError):
        return exc.cause
    return PocketBatchError(f"a worker could not load the model: {exc}")
