"""Every Ray call the worker pool makes, and Ray's failures as two exceptions of ours.

Only this module imports `ray` (inside its functions), so the pool's state machine
(synth/pool/ray_pool.py) runs against a fake backend in unit tests and against Ray for real.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from pocket_batch.core.errors import PocketBatchError, one_line
from pocket_batch.core.measure import peak_rss_mb
from pocket_batch.synth.model.voices import Voice
from pocket_batch.synth.pool.worker import SynthOutput, SynthTask, SynthWorker

log = logging.getLogger("pocket_batch")

# A worker's tensors are made in its generation thread and freed in the threads that send them; glibc's
# default of one heap per thread and core then holds freed memory, and a worker grew with every chunk
# (at 200 chunks 1657 MiB, 1421 MiB with two heaps, 1293 MiB trimmed as well: synth/pool/feed.py).
# A local cluster's workers inherit it from ours; on a joined cluster each actor gets it in its
# runtime_env, which costs it a worker process started for it (about a second).
WORKER_ENV = {"MALLOC_ARENA_MAX": "2"}


class CallFailed(Exception):
    """The call raised in the worker; the worker itself is fine."""

    def __init__(self, cause: BaseException):
        super().__init__(one_line(cause))
        self.cause = cause


class ActorDied(Exception):
    """The worker process is gone (killed, out of memory, node lost)."""


class RayBackend:
    def __init__(self, address: str | None = None, cpus_per_worker: int = 1):
        self.address, self.cpus_per_worker = address, cpus_per_worker
        self.started_ray = False
        self.local = False  # a cluster of our own, its workers started with WORKER_ENV

    def open(self, workers: int) -> int:
        """Join or start the cluster; returns how many workers of `cpus_per_worker` it can place."""
        if not ray_running():
            self.local = start_ray(self.address, num_cpus=workers * self.cpus_per_worker)
            self.started_ray = True
            return workers
        import ray

        return self._fit(workers, ray.cluster_resources().get("CPU", 0))

    def _fit(self, workers: int, cpus: float) -> int:
        """More workers than an existing cluster has CPUs for would wait forever to be placed."""
        if cpus < self.cpus_per_worker:
            raise PocketBatchError(f"the Ray cluster has {cpus:g} CPUs: no room for a worker of {self.cpus_per_worker}")
        fit = int(cpus) // self.cpus_per_worker
        if workers > fit:
            log.warning("the Ray cluster has %g CPUs: %d workers instead of %d", cpus, fit, workers)
        return min(workers, fit)

    def close(self) -> None:
        if self.started_ray:
            import ray

            ray.shutdown()

    def actor(self, worker: SynthWorker, concurrency: int) -> Any:
        """`concurrency` calls run at once, each in a thread: they all feed the worker's one generation loop."""
        import ray

        env = None if self.local else {"env_vars": WORKER_ENV}
        return ray.remote(num_cpus=self.cpus_per_worker, max_restarts=0, max_concurrency=concurrency,
                          runtime_env=env)(_Actor).remote(worker)

    def call(self, actor, method: str, *args) -> Any:
        return getattr(actor, method).remote(*args)

    def stream(self, actor, method: str, *args) -> Any:
        """A call whose results come back one by one as the actor yields them (a Ray generator)."""
        return getattr(actor, method).options(num_returns="streaming").remote(*args)

    def next(self, stream) -> Any:
        """The stream's next result (raises StopIteration at its end, CallFailed or ActorDied as `get`)."""
        return self.get(next(stream))

    def put(self, value) -> Any:
        import ray

        return ray.put(value)

    def wait(self, refs: list, timeout: float | None) -> list:
        """Every ref ready now; if none is, the first to be (or none by `timeout`). A look costs the driver
        in proportion to the refs (3 ms over 2500, 500 workers' calls): a busy driver looks once a pass,
        and each pass serves every chunk that came back meanwhile."""
        import ray

        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        if not ready:
            ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        return ready

    def get(self, ref) -> Any:
        import ray

        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            raise CallFailed(exc.cause or exc) from None
        except ray.exceptions.RayError as exc:
            raise ActorDied(one_line(exc)) from None

    def kill(self, actor) -> None:
        import ray

        ray.kill(actor, no_restart=True)


class _Actor:
    """The Ray face of a SynthWorker (Ray resolves the voice ObjectRefs before a call starts)."""

    def __init__(self, worker: SynthWorker):
        self.worker = worker

    def setup(self) -> str:
        import ray

        self.worker.setup()
        # Named by the node's address: which machine of the cluster made each chunk.
        self.worker.name = f"{ray.util.get_node_ip_address()}:{os.getpid()}"
        return self.worker.name

    def synthesize(self, tasks: list[SynthTask], *voices: Voice) -> Iterator[SynthOutput]:
        """The voices come with every call (as ObjectRefs, so each is shipped to a node once): calls on a
        threaded actor start in no set order, and a call must not start before its voices are known."""
        for voice in voices:
            self.worker.add_voice(voice)
        yield from self.worker.synthesize_stream(tasks)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb()


class _Forward(logging.Handler):
    """Ray's log records (its token banner, its warnings) into pocket-batch's log, not onto the console."""

    def emit(self, record: logging.LogRecord) -> None:
        for handler in log.handlers:  # straight to them: through the logger, a record with nowhere to go
            if record.levelno >= handler.level:  # would come back here as logging's last resort
                handler.handle(record)


@contextlib.contextmanager
def _ray_logs_to_ours() -> Iterator[None]:
    """Ray's console handler goes, during and after `ray.init`, which resets the logger mid-way and then
    prints through logging's last resort: that handler forwards too while init runs."""
    ray_log, last_resort = logging.getLogger("ray"), logging.lastResort
    ray_log.handlers, ray_log.propagate = [_Forward()], False
    logging.lastResort = _Forward(logging.WARNING)
    try:
        yield
    finally:
        logging.lastResort = last_resort
        ray_log.handlers, ray_log.propagate = [_Forward()], False


def ray_running() -> bool:
    ray = sys.modules.get("ray")  # not imported yet: certainly not running, and importing is for start_ray
    return ray is not None and ray.is_initialized()


def start_ray(address: str | None, num_cpus: int) -> bool:
    """Join `address` (or RAY_ADDRESS), else start a local cluster bound to loopback (returns True)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        # Without this Ray binds the machine's routable address even for a one-machine run.
        # Ray reads it once, at import: so nothing in pocket-batch imports ray before this line.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    # Ray puts its own SIGTERM handler in place as it starts (a bare sys.exit) and keeps one after (a
    # native stack dump, exit 15): the caller's must hold throughout, or a run stopped while Ray starts
    # does not end as a stopped run. (A private name of Ray's: without it, the handler is put back after.)
    on_sigterm = signal.getsignal(signal.SIGTERM)
    ray_utils = ray._private.utils
    set_handler = getattr(ray_utils, "set_sigterm_handler", None)
    if set_handler is not None:
        ray_utils.set_sigterm_handler = lambda handler: None
    try:
        with _ray_logs_to_ours():
            if address:
                try:
                    ray.init(address=address, log_to_driver=False)
                except ConnectionError as exc:
                    raise PocketBatchError(f"Ray cluster at {address}: {one_line(exc)}") from None
            else:
                for name, value in WORKER_ENV.items():
                    os.environ.setdefault(name, value)
                ray.init(num_cpus=max(num_cpus, os.cpu_count() or 1), include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
    finally:
        if set_handler is not None:
            ray_utils.set_sigterm_handler = set_handler
        if threading.current_thread() is threading.main_thread() and on_sigterm is not None:
            signal.signal(signal.SIGTERM, on_sigterm)
    return not address
