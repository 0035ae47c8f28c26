"""The run's executor: started at the first task, kept for every take after it, with progress and stops.

Workers hear their own takes when the run verifies: in-process ones with the run's own backend,
Ray actors with one each, so every result arrives with its verdict stored beside its audio.
"""

from __future__ import annotations

import contextlib
import functools

from pocket_batch.core.config import SAMPLE_RATE, Synthesis, default_workers
from pocket_batch.pipeline import stop
from pocket_batch.pipeline.progress import SynthProgress
from pocket_batch.pipeline.runlog import log
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.model.voices import Voice
from pocket_batch.synth.pool.executors import make_executor
from pocket_batch.synth.pool.worker import SynthFailure, SynthTask, SynthWorker
from pocket_batch.synth.work import run_tasks
from pocket_batch.verify.verifier import Verifier


class Synthesizer:

    def __init__(self, config: Synthesis, voices: list[Voice], cache: AudioCache, verifier: Verifier | None = None,
                 show_progress: bool = True, worker=SynthWorker):
        """`worker`: the worker class (benchmarks give a stand-in that times the driver alone)."""
        self.config, self.voices, self.cache, self.verifier = config, voices, cache, verifier
        self.worker = worker
        self.show_progress = show_progress
        self.executor = None

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc) -> None:
        if self.executor is not None:
            if replaced := getattr(self.executor, "replaced", 0):
                log.warning("%d workers replaced after dying or timing out", replaced)
            self.executor.__exit__(*exc)

    def _start(self):
        config = self.config
        workers = default_workers() if config.workers is None else config.workers
        verify, backend = (self.verifier.options, self.verifier.backend) if self.verifier else (None, None)
        make_worker = functools.partial(self.worker, config.model, config.generation.temperature,
                                        config.torch_threads, config.voice_cache_size, config.batch_size,
                                        verify, backend)
        executor = make_executor(make_worker, workers, config.torch_threads, config.address,
                                 config.chunk_retries, config.chunk_timeout)
        self.executor = executor.__enter__()

    def run(self, tasks: list[SynthTask], summary: str = "") -> dict[str, SynthFailure]:
        """Tasks into the cache (and their verdicts into the store); returns those that failed every retry."""
        if not tasks:
            return {}
        if self.executor is None:
            self._start()
        store = self.verifier.store if self.verifier else None
        progress = SynthProgress({t.key: t.text for t in tasks}, summary) if self.show_progress else None

        def done(out) -> None:
            stop.check()
            if progress:
                progress.advance(out.key, out.audio.size / SAMPLE_RATE)

        with progress or contextlib.nullcontext():
            failures = run_tasks(tasks, self.voices, self.executor, self.cache, verdicts=store, on_result=done)
        for failure in failures.values():
            log.error("chunk %s failed after %d attempts: %s", failure.key, failure.attempts, failure.reason)
        return failures
