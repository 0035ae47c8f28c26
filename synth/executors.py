"""Executors own parallelism: they run SynthWorkers in-process or as a Ray actor pool.

Both take the same tasks and yield outputs as they finish; nothing else in the
pipeline knows which one runs. Ray is imported only here, inside methods.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator

from pocket_batch.synth.voices import Voice
from pocket_batch.synth.worker import SynthOutput, SynthTask, SynthWorker

WorkerFactory = Callable[[], SynthWorker]
IN_FLIGHT_PER_WORKER = 2  # one running, one queued: a worker never idles waiting for the driver


class InProcessExecutor:
    """Runs one worker in this process: for debugging and tiny jobs (`--workers 0`)."""

    def __init__(self, make_worker: WorkerFactory):
        self.worker = make_worker()

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.worker = None

    def warm_up(self) -> list[str]:
        return [self.worker.setup()]

    def map(self, tasks: Iterable[SynthTask], voices: Iterable[Voice]) -> Iterator[SynthOutput]:
        for voice in voices:
            self.worker.add_voice(voice)
        for task in tasks:
            yield self.worker.synthesize(task)


class RayExecutor:
    """A pool of SynthWorker actors, each holding one model; tasks stream in, results stream out."""

    def __init__(self, make_worker: WorkerFactory, workers: int, cpus_per_worker: int = 1,
                 address: str | None = None):
        self.make_worker = make_worker
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.address = address
        self.actors: list = []
        self.started_ray = False

    def __enter__(self) -> RayExecutor:
        if not ray_running():
            start_ray(self.address, num_cpus=self.workers * self.cpus_per_worker)
            self.started_ray = True
        import ray
        # The factory runs here, in the driver: actors get a pickled, not-yet-loaded worker.
        template = self.make_worker()
        actor_class = ray.remote(num_cpus=self.cpus_per_worker, max_restarts=0)(_Actor)
        self.actors = [actor_class.remote(template) for _ in range(self.workers)]
        for actor in self.actors:
            actor.setup.remote()  # starts loading now; calls on an actor run in order
        return self

    def __exit__(self, *exc) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self.started_ray:
            ray.shutdown()

    def warm_up(self) -> list[str]:
        import ray

        return ray.get([actor.setup.remote() for actor in self.actors])

    def map(self, tasks: Iterable[SynthTask], voices: Iterable[Voice]) -> Iterator[SynthOutput]:
        import ray

        voice_refs = [ray.put(voice) for voice in voices]  # shipped once per actor, not per task
        for actor in self.actors:
            for ref in voice_refs:
                actor.add_voice.remote(ref)
        todo = iter(tasks)
        pending: dict = {}

        def submit(actor) -> None:
            task = next(todo, None)
            if task is not None:
                pending[actor.synthesize.remote(task)] = actor

        for actor in self.actors:
            for _ in range(IN_FLIGHT_PER_WORKER):
                submit(actor)
        while pending:
            [ready], _ = ray.wait(list(pending), num_returns=1)
            actor = pending.pop(ready)
            submit(actor)
            yield ray.get(ready)


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

    def synthesize(self, task: SynthTask) -> SynthOutput:
        return self.worker.synthesize(task)


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
        ray.init(address=address, log_to_driver=False)
        return
    ray.init(num_cpus=max(num_cpus, os.cpu_count() or 1), include_dashboard=False,
             log_to_driver=False, configure_logging=False)


def make_executor(make_worker: WorkerFactory, workers: int, cpus_per_worker: int = 1,
                  address: str | None = None):
    if workers == 0:
        return InProcessExecutor(make_worker)
    return RayExecutor(make_worker, workers, cpus_per_worker, address)
