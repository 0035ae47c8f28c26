"""`pocket-batch bench driver`: how many workers one driver can feed.

The real executor, Ray, cache and progress display, with N workers of the real worker
class whose model is replaced by a stand-in that returns each chunk's audio at once (a
stand-in for timing the driver only: nothing here reaches a user's output). The workers
make chunks far faster than real ones, and the driver's own CPU time per chunk (scheduling,
receiving audio, cache writes, progress) is what is measured, on a core of its own: Ray's
processes get the others, as a cluster's driver shares its machine with Ray's head but not
with its workers. A driver at full load on one core then feeds 1 / (CPU per chunk) chunks a
second: divided by what one real worker makes, that is how many workers it keeps busy.

A driver's CPU per chunk rises as its load falls (each pass serves fewer chunks, and each
chunk finds the core's caches cold), and dozens of stand-ins sharing a small machine's other
cores make fewer chunks a second than a few: `pace` asks every run for the same chunks a
second, to compare worker counts at one load; the table shows what each run made, and how
busy the driver's core was.
"""

from __future__ import annotations

import functools
import io
import multiprocessing
import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from pocket_batch.benchmarks.synth import bench_sentences
from pocket_batch.core.config import SAMPLE_RATE, ModelOptions, Synthesis, default_batch_size
from pocket_batch.core.cpu import Cpu
from pocket_batch.pipeline.progress import SynthProgress
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.pool.ray_pool import RayExecutor
from pocket_batch.synth.model.voices import Voice
from pocket_batch.synth.work import run_tasks
from pocket_batch.synth.pool.worker import SynthTask, SynthWorker

SECONDS_PER_WORD = 0.4  # the stand-in's audio: about the length a real voice takes to read the chunk
# One worker of `bench synth` (batch 16, int8, bf16 decoder, full-size random model, 2-core AMD EPYC):
# 7.1 audio-s/s over chunks of 12.6 s on average. The released model ends chunks at EOS, so
# its chunks are shorter and come faster: a real run's figure is in its log ("chunks/s").
WORKER_CHUNKS_PER_S = 0.56
STAND_IN_VOICE = Voice(name="stand-in", kind="preset", fingerprint="stand-in")


class _InstantRows:
    """A BatchedGenerator's interface with no model: a request's audio is ready the moment it is taken,
    or, paced, `seconds_per_chunk` after the previous one (sleeping: the stand-in's CPU stays nil)."""

    closed = False

    def __init__(self, seconds_per_chunk: float = 0.0, seconds_per_word: float = SECONDS_PER_WORD):
        self.noise = np.random.default_rng(0).uniform(-0.1, 0.1, 60 * SAMPLE_RATE).astype(np.float32)
        self.seconds_per_chunk, self.seconds_per_word = seconds_per_chunk, seconds_per_word

    def generate(self, requests):
        due = time.monotonic()
        while (request := requests.take(wait=True)) is not None:
            due = max(due + self.seconds_per_chunk, time.monotonic())
            time.sleep(max(0.0, due - time.monotonic()))
            samples = int(len(request.text.split()) * self.seconds_per_word * SAMPLE_RATE)
            yield request, _Tensor(self.noise[:samples].copy()), False, 0.0


class _Tensor:
    """What the worker reads of a torch tensor of audio (so the stand-in's processes never load torch)."""

    def __init__(self, samples: np.ndarray):
        self.samples = samples

    def numpy(self) -> np.ndarray:
        return self.samples


class StandInWorker(SynthWorker):
    """The real worker (its calls, feed thread, streaming) around _InstantRows instead of a model."""

    def _load(self) -> None:
        self.name = self.name or f"{socket.gethostname()}:{os.getpid()}"

    def __init__(self, *args, seconds_per_chunk: float = 0.0, seconds_per_word: float = SECONDS_PER_WORD, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds_per_chunk, self.seconds_per_word = seconds_per_chunk, seconds_per_word

    def _rows(self):
        return _InstantRows(self.seconds_per_chunk, self.seconds_per_word)

    def _pieces(self, task: SynthTask) -> list[str]:
        return [task.text]

    def _voice_state(self, fingerprint: str) -> dict:
        return {}


def bench_driver(worker_counts: list[int], chunks: int, batch_size: int | None, worker_rate: float | None,
                 console: Console, pace: float | None = None) -> list[dict]:
    """`pace`: the chunks a second all stand-ins make together (None: as many as they can); `batch_size`
    None: this CPU's default."""
    batch_size = batch_size or default_batch_size(Cpu.this())
    worker_rate = worker_rate or WORKER_CHUNKS_PER_S
    rows = []
    for workers in worker_counts:
        with multiprocessing.get_context("spawn").Pool(1) as pool:  # a fresh driver (and Ray) for each count
            rows.append(pool.apply(_measure, (workers, chunks, batch_size, workers / pace if pace else 0.0)))
        console.print(f"  {workers} workers: {rows[-1]['chunks_per_s']:.0f} chunks/s, "
                      f"{rows[-1]['cpu_ms']:.2f} ms driver CPU a chunk", highlight=False)
    _print(rows, worker_rate, console)
    return rows


def _measure(workers: int, chunks: int, batch_size: int, seconds_per_chunk: float = 0.0) -> dict:
    sentences = bench_sentences(641)
    tasks = [SynthTask(f"{n:032x}", sentences[n % len(sentences)], STAND_IN_VOICE.fingerprint, n, 50)
             for n in range(chunks)]
    options = ModelOptions(decoder="fp32", decoder_int8=False, seanet_int8=False)  # stand-ins decode nothing: any settled formats
    make_worker = functools.partial(StandInWorker, options, batch_size=batch_size, seconds_per_chunk=seconds_per_chunk)
    defaults, audio = Synthesis(), 0  # the pipeline's own retries and per-chunk deadline
    with (tempfile.TemporaryDirectory() as tmp,
          RayExecutor(make_worker, workers, retries=defaults.chunk_retries, timeout=defaults.chunk_timeout) as executor):
        alone = _core_of_its_own()
        cache = _TimedCache(Path(tmp))
        progress = SynthProgress({t.key: t.text for t in tasks}, console=Console(file=io.StringIO(), force_terminal=True))
        progress_cpu = 0.0

        def received(output) -> None:
            nonlocal audio, progress_cpu
            started = time.thread_time()
            audio += output.audio.size
            progress.advance(output.key, output.audio.size / SAMPLE_RATE)
            progress_cpu += time.thread_time() - started

        with progress:
            cpu, main, wall = time.process_time(), time.thread_time(), time.perf_counter()
            failures = run_tasks(tasks, [STAND_IN_VOICE], executor, cache, on_result=received)
            cpu, main, wall = time.process_time() - cpu, time.thread_time() - main, time.perf_counter() - wall
        assert not failures, failures
        written = sum(1 for _ in Path(tmp).rglob("*.wav"))
    ms = {"cache": cache.cpu, "progress": progress_cpu, "executor": main - cache.cpu - progress_cpu,
          "ray threads": cpu - main}  # the driver's own thread, then Ray's threads in the driver process
    return {"workers": workers, "chunks": chunks, "written": written, "wall_s": wall, "cpu_s": cpu,
            "chunks_per_s": chunks / wall, "cpu_ms": 1000 * cpu / chunks, "audio_s": audio / SAMPLE_RATE,
            "parts_ms": {part: 1000 * seconds / chunks for part, seconds in ms.items()}, "cores": os.cpu_count(),
            "alone": alone}


def _core_of_its_own() -> bool:
    """Give the driver's process a core of its own and Ray's (its workers, raylet, GCS) the others, as on a head
    node whose workers run elsewhere: on a small machine, dozens of stand-in workers on the driver's cores would
    otherwise be counted into its CPU per chunk (caches and TLBs flushed by every switch). False on one core."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return False
    driver, others = {cores[0]}, set(cores[1:])
    for pid in _descendants(os.getpid()):
        _pin(pid, others)
    _pin(os.getpid(), driver)
    return True


def _descendants(pid: int) -> list[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _pin(pid: int, cores: set[int]) -> None:
    """Every thread of the process (sched_setaffinity on a pid moves only that one thread)."""
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            os.sched_setaffinity(int(task.name), cores)
        except OSError:  # the thread has ended
            pass


class _TimedCache(AudioCache):
    """The real cache, counting the CPU time the driver's thread spends writing it."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.cpu = 0.0

    def put(self, *args, **kwargs):
        started = time.thread_time()
        try:
            return super().put(*args, **kwargs)
        finally:
            self.cpu += time.thread_time() - started


def _print(rows: list[dict], worker_rate: float, console: Console) -> None:
    alone = "the driver on a core of its own, Ray on the others; " if rows and all(r["alone"] for r in rows) else ""
    table = Table(title=f"bench driver: stand-in workers (no model), real executor, Ray, cache, progress; {alone}"
                        f"a real worker makes {worker_rate:g} chunks/s; ms are CPU per chunk")
    parts = list(rows[0]["parts_ms"]) if rows else []
    for column in ("workers", "chunks", "wall s", "chunks/s", "driver CPU s", "driver busy", "CPU per chunk",
                   *(f"{part} ms" for part in parts), "driver at 1 core", "workers it can feed"):
        table.add_column(column, justify="right")
    for r in rows:
        capacity = 1000 / r["cpu_ms"]
        table.add_row(str(r["workers"]), str(r["chunks"]), f"{r['wall_s']:.1f}", f"{r['chunks_per_s']:.0f}",
                      f"{r['cpu_s']:.1f}", f"{r['cpu_s'] / r['wall_s']:.0%}", f"{r['cpu_ms']:.2f} ms", *(f"{r['parts_ms'][p]:.2f}" for p in parts),
                      f"{capacity:.0f} chunks/s", f"{capacity / worker_rate:.0f}")
    console.print(table)
