"""The Ray pool's state machine against a fake backend: retries, replacement, timeouts, order of work.

Ray itself runs for real in the end-to-end tests (e2e/test_render, test_cluster, test_jobs);
here each actor runs its calls by a script, so every failure path is reached in milliseconds.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pytest

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.synth.pool.ray_backend import ActorDied, CallFailed
from pocket_batch.synth.pool.ray_pool import RayExecutor
from pocket_batch.synth.pool.worker import SynthFailure, SynthOutput, SynthTask

pytestmark = pytest.mark.ray


class Template:
    def __init__(self, call_size: int):
        self.call_size = call_size
        self.in_flight = 2 * call_size  # two calls' worth: the second waits behind the first


class Ref:
    def __init__(self, actor, method: str, args: tuple):
        self.actor, self.method, self.args = actor, method, args
        self.outcome = None  # decided when the call reaches the head of its actor's queue
        self.ends_at = 0.0  # a stream whose chunks have all come back ends a moment later


class Actor:
    def __init__(self, number: int):
        self.name, self.queue, self.killed = f"actor{number}", [], False


class FakeBackend:
    """Each task key has a script of outcomes, one per execution: ok, raise, die or hang."""

    def __init__(self, scripts: dict[str, list[str]] | None = None, setups: list[str] | None = None):
        self.scripts = defaultdict(list, {k: list(v) for k, v in (scripts or {}).items()})
        self.setups = list(setups or [])
        self.actors: list[Actor] = []
        self.executed: list[tuple[str, list[str]]] = []  # (actor, keys) of every call that ran
        self.stream_end = 0.0  # seconds between a stream's last chunk and its end
        self.held: list[tuple[int, bool]] = []  # per call sent: its actor's chunks not yet back (the call's
        # included), and whether a call of its that had sent chunks was still open
        self.closed = False

    def open(self, workers: int) -> int:
        return workers

    def close(self) -> None:
        self.closed = True

    def actor(self, template, concurrency: int) -> Actor:
        self.actors.append(Actor(len(self.actors)))
        return self.actors[-1]

    def call(self, actor: Actor, method: str, *args) -> Ref:
        ref = Ref(actor, method, args)
        if method == "setup":
            actor.queue.append(ref)
        else:
            ref.outcome = ("ok", None)
        return ref

    def stream(self, actor: Actor, method: str, *args) -> Ref:
        # a call's clock starts when it is sent: it must not reach a worker that could start it before then
        assert not any(r.method == "setup" for r in actor.queue), "a call sent to a worker still loading its model"
        ref = Ref(actor, method, (list(args[0]), *args[1:]))  # Ray sends a copy: the pool's list may change
        actor.queue.append(ref)
        left = [len(r.outcome[1]) if r.outcome else len(r.args[0]) for r in actor.queue if r.method != "setup"]
        sent = [len(r.args[0]) for r in actor.queue if r.method != "setup"]
        self.held.append((sum(left), any(n < total for n, total in zip(left, sent))))
        return ref

    def next(self, ref: Ref):
        """The next chunk of a streaming call; a failing call fails before it yields anything."""
        self._run(ref)
        kind, outputs = ref.outcome
        if kind in ("ok", "die late") and outputs:
            if kind == "die late" and len(outputs) == 1:  # the worker dies after yielding all but one
                ref.outcome = ("die", outputs)
            else:
                if len(outputs) == 1:
                    ref.ends_at = time.monotonic() + self.stream_end
                return outputs.pop(0)
            kind = "die"
        ref.actor.queue.remove(ref)
        if kind == "ok":
            raise StopIteration
        return self.get(ref)

    def put(self, value):
        return value

    def _run(self, ref: Ref) -> None:
        if ref.outcome is not None:
            return
        if ref.method == "setup":
            kind = self.setups.pop(0) if self.setups else "ok"
            ref.outcome = (kind, ref.actor.name)
            return
        tasks = ref.args[0]
        self.executed.append((ref.actor.name, [t.key for t in tasks]))
        kinds = [self.scripts[t.key].pop(0) if self.scripts[t.key] else "ok" for t in tasks]
        worst = next((k for k in ("die", "hang", "raise", "die late") if k in kinds), "ok")
        ref.outcome = (worst, [SynthOutput(t.key, np.zeros(4, np.float32), False, ref.actor.name, 0.0) for t in tasks])

    def wait(self, refs: list[Ref], timeout: float | None) -> list[Ref]:
        ready = self._ready(refs)
        if ready:
            return ready
        heads = [a.queue[0] for a in self.actors if a.queue and not a.killed]
        ending = [r.ends_at - time.monotonic() for r in refs if r in heads and r.ends_at > time.monotonic()]
        assert timeout is not None or ending, "every call hangs and no timeout is set"
        time.sleep(max(0.0, min(([timeout] if timeout is not None else []) + ending)))
        return self._ready(refs)

    def _ready(self, refs: list[Ref]) -> list[Ref]:
        heads = [a.queue[0] for a in self.actors if a.queue and not a.killed]
        for ref in refs:
            if ref in heads:
                self._run(ref)
                if ref.outcome[0] != "hang" and time.monotonic() >= ref.ends_at:
                    return [ref]
        return []

    def get(self, ref: Ref):
        self._run(ref)
        if ref in ref.actor.queue:
            ref.actor.queue.remove(ref)
        kind, value = ref.outcome
        if kind == "raise":
            raise CallFailed(ValueError("boom"))
        if kind == "die":
            raise ActorDied("the worker process died")
        if isinstance(kind, Exception):
            raise CallFailed(kind)
        return value

    def kill(self, actor: Actor) -> None:
        actor.killed = True


def tasks(n: int) -> list[SynthTask]:
    return [SynthTask(f"k{i:02d}", "text " * (i + 1), "voice", i, 50) for i in range(n)]


def run(backend: FakeBackend, jobs: list[SynthTask], workers=2, call_size=2, retries=0, timeout=None):
    with RayExecutor(lambda: Template(call_size), workers, retries=retries, timeout=timeout,
                     backend=backend) as pool:
        results = list(pool.map(jobs, []))
    return pool, results


def test_every_task_comes_back_once_and_every_worker_gets_work():
    backend = FakeBackend()
    pool, results = run(backend, tasks(9))
    assert sorted(r.key for r in results) == [t.key for t in tasks(9)]
    assert all(isinstance(r, SynthOutput) for r in results)
    assert {actor for actor, _ in backend.executed} == {"actor0", "actor1"}
    assert all(len(keys) <= 2 for _, keys in backend.executed)
    assert pool.replaced == 0 and pool.worker_names == ["actor0", "actor1"] and backend.closed


def test_a_worker_is_topped_up_as_its_chunks_come_back_and_holds_no_more_than_its_share():
    backend = FakeBackend()
    pool, results = run(backend, tasks(11), workers=1, call_size=2)
    assert sorted(r.key for r in results) == [t.key for t in tasks(11)]
    assert [len(keys) for _, keys in backend.executed] == [2, 2, 2, 2, 2, 1]
    assert max(held for held, _ in backend.held) == 4  # Template.in_flight
    # topped up the moment the chunks came back, before the call that sent them had ended
    assert sum(mid_call for _, mid_call in backend.held) == 4


def test_a_call_that_raises_is_retried_on_the_same_worker_then_given_up():
    backend = FakeBackend({"k00": ["raise", "ok"]})
    pool, results = run(backend, tasks(4), retries=1)
    assert all(isinstance(r, SynthOutput) for r in results) and len(results) == 4
    assert pool.replaced == 0  # the worker itself was fine

    backend = FakeBackend({"k00": ["raise", "raise"]})
    pool, results = run(backend, tasks(4), retries=1)
    failures = [r for r in results if isinstance(r, SynthFailure)]
    failed_call = next(keys for _, keys in backend.executed if "k00" in keys)
    # a raising call fails every chunk in it; retried together, they fail together
    assert sorted(f.key for f in failures) == sorted(failed_call) and len(failed_call) == 2
    assert all(f.attempts == 2 and f.reason == "ValueError: boom" for f in failures)
    assert sorted(r.key for r in results if isinstance(r, SynthOutput)) == sorted({"k01", "k02", "k03"} - set(failed_call))


def test_a_dead_worker_is_replaced_and_only_its_running_call_counts_an_attempt():
    jobs = tasks(8)
    backend = FakeBackend({"k00": ["die"]})  # with retries=0, only that call's chunks may fail
    pool, results = run(backend, jobs, workers=1, call_size=2)
    failed = sorted(r.key for r in results if isinstance(r, SynthFailure))
    dead_call = next(keys for _, keys in backend.executed if "k00" in keys)
    assert failed == sorted(dead_call)
    assert all(r.reason == "worker died: the worker process died" for r in results if isinstance(r, SynthFailure))
    # the call queued behind the dead one went to the fresh actor without losing an attempt
    assert sorted(r.key for r in results if isinstance(r, SynthOutput)) == sorted(set(t.key for t in jobs) - set(dead_call))
    assert pool.replaced == 1 and len(backend.actors) == 2 and backend.actors[0].killed


def test_a_stuck_call_times_out_and_its_chunks_run_again_on_a_fresh_worker():
    backend = FakeBackend({"k03": ["hang", "ok"]})
    started = time.monotonic()
    pool, results = run(backend, tasks(4), workers=2, call_size=2, retries=1, timeout=0.05)
    assert time.monotonic() - started < 5
    assert sorted(r.key for r in results) == [t.key for t in tasks(4)]
    assert all(isinstance(r, SynthOutput) for r in results)
    assert pool.replaced == 1

    backend = FakeBackend({"k03": ["hang"]})
    pool, results = run(backend, tasks(4), workers=2, call_size=2, retries=0, timeout=0.05)
    reasons = {r.reason for r in results if isinstance(r, SynthFailure)}
    assert reasons == {"no result within 0.05 s per chunk; worker restarted"}


def test_a_model_that_cannot_load_stops_the_run_in_one_line():
    backend = FakeBackend(setups=[PocketBatchError("model.yaml: not a valid pocket-tts config")])
    with pytest.raises(PocketBatchError, match="not a valid pocket-tts config"):
        run(backend, tasks(2))
    backend = FakeBackend(setups=[OSError("disk gone")])
    with pytest.raises(PocketBatchError, match="a worker could not load the model: OSError: disk gone"):
        run(backend, tasks(2))


def test_replacements_that_keep_dying_while_loading_end_the_run():
    backend = FakeBackend({"k00": ["die"]}, setups=["ok", "die", "die"])
    with pytest.raises(PocketBatchError, match="workers keep dying while loading the model"):
        run(backend, tasks(2), workers=1, call_size=2, retries=1)


def test_chunks_that_came_back_before_a_worker_died_are_kept():
    backend = FakeBackend({"k00": ["die late"]})
    pool, results = run(backend, tasks(2), workers=1, call_size=2)
    [call] = [keys for _, keys in backend.executed if "k00" in keys]
    [kept] = [r for r in results if isinstance(r, SynthOutput)]
    [lost] = [r for r in results if isinstance(r, SynthFailure)]
    assert kept.key == call[0] and lost.key == call[1]  # only the chunk still to come counts an attempt
    assert lost.reason == "worker died: the worker process died" and pool.replaced == 1


def test_a_stream_that_has_sent_every_chunk_may_take_a_moment_to_end():
    backend = FakeBackend()
    backend.stream_end = 0.05  # the worker wraps up after its last chunk
    pool, results = run(backend, tasks(4), workers=2, call_size=2, timeout=0.5)
    assert sorted(r.key for r in results) == [t.key for t in tasks(4)]
    assert pool.replaced == 0  # not taken for a stuck worker: no chunk of it was still to come
