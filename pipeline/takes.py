"""Synthesis with verification: each chunk is heard by the recognizer, and one that fails is taken
again with a new seed (derived from its key and the attempt), up to the retries allowed.

The best take is kept: the first that passes, else the one with fewest flags and lowest word
error rate, so the book stays whole and what still fails is reported. Every take is
content-addressed like any chunk, so a rerun finds them all and synthesizes nothing.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

from pocket_batch.core.config import SAMPLE_RATE, GenerationOptions, Synthesis, VerifyOptions, default_workers
from pocket_batch.core.records import Chunk, ChunkAudio, Take, Verdict
from pocket_batch.pipeline import stop
from pocket_batch.pipeline.progress import SynthProgress
from pocket_batch.pipeline.runlog import log
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.pool.executors import make_executor
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Cast, Voice
from pocket_batch.synth.work import plan_work, run_tasks
from pocket_batch.synth.pool.worker import SynthFailure, SynthTask, SynthWorker
from pocket_batch.verify.backends import make_backend, verdicts_fingerprint
from pocket_batch.verify.judge import verify_audio
from pocket_batch.verify.store import VerdictStore


class Verifier:
    """The run's recognizer and verdict store: a verdict is looked up first, and heard only once."""

    def __init__(self, options: VerifyOptions, root: Path):
        self.options, self.root = options, root
        self.listen_for([])

    def listen_for(self, texts: list[str]) -> None:
        """The texts the run will verify: the backend may listen for their words above others."""
        self.backend = make_backend(self.options, texts)
        self.backend.check()
        self.store = VerdictStore(self.root, verdicts_fingerprint(self.backend, self.options))

    def verdict(self, key: str, text: str, cache: AudioCache) -> Verdict:
        """The stored verdict, or one made here for audio synthesized before verification was on."""
        if found := self.store.get(key):
            return found
        verdict = verify_audio(self.backend, cache.read(key), SAMPLE_RATE, text, self.options)
        self.store.put(key, verdict)
        return verdict


class Synthesizer:
    """The run's executor, started at the first task and kept for every take after it."""

    def __init__(self, config: Synthesis, voices: list[Voice], cache: AudioCache, verifier: Verifier | None = None,
                 show_progress: bool = True):
        self.config, self.voices, self.cache, self.verifier = config, voices, cache, verifier
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
        make_worker = functools.partial(SynthWorker, config.model, config.generation.temperature,
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


@dataclass
class Takes:
    """One distinct chunk's takes so far, each with its verdict."""

    chunk: Chunk
    keys: list[str]
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def best(self) -> int:
        passing = [i for i, v in enumerate(self.verdicts) if v.passed]
        if passing:
            return passing[0]
        return min(range(len(self.verdicts)), key=lambda i: (len(self.verdicts[i].flags), self.verdicts[i].wer, i))

    def record(self, cache: AudioCache) -> ChunkAudio:
        """The kept take's audio record, carrying its verdict and every take."""
        best = self.best
        takes = tuple(Take(n, key, verdict) for n, (key, verdict) in enumerate(zip(self.keys, self.verdicts)))
        return replace(cache.get(self.keys[best]), verdict=self.verdicts[best], takes=takes)


@dataclass(frozen=True)
class Retaking:
    """What a take is planned with: the same chunk, another attempt, so another key and seed."""

    voice: Voice | Cast
    source: ModelSource
    generation: GenerationOptions
    cache: AudioCache


def verify_takes(synth: Synthesizer, verifier: Verifier, chunks: dict[str, Chunk], plan: Retaking,
                 failures: dict[str, SynthFailure]) -> tuple[dict[str, Takes], int]:
    """Verify each first take (by key; already synthesized), and retake the failing ones.

    Returns the takes by first key, and how many retakes were synthesized; a retake that fails
    synthesis on every retry just ends that chunk's retakes.
    """
    takes = {key: Takes(chunk, [key]) for key, chunk in chunks.items() if key not in failures}
    synthesized = 0
    for attempt in range(verifier.options.retries + 1):
        if attempt:
            todo = [t for t in takes.values() if len(t.verdicts) == attempt and not t.verdicts[-1].passed]
            if not todo:
                break
            tasks = {}
            for t in todo:
                work = plan_work([t.chunk], plan.voice, plan.source, plan.generation, plan.cache, attempt)
                t.keys.append(work.keys[t.chunk.id])
                tasks.update({task.key: task for task in work.tasks})
            failed = synth.run(list(tasks.values()), f"take {attempt + 1}: {len(todo)} chunks failed verification, "
                                                     f"{len(tasks)} to synthesize again")
            synthesized += len(tasks)
            for t in todo:
                if t.keys[-1] in failed:
                    t.keys.pop()
        for t in takes.values():
            if len(t.keys) > len(t.verdicts):
                t.verdicts.append(verifier.verdict(t.keys[-1], t.chunk.normalized, plan.cache))
    return takes, synthesized
