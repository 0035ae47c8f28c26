"""`pocket-batch bench postproc`: wall time and memory of post-processing as books grow.

A book of H hours is built from a small pool of distinct sentences, so the
content-addressed cache synthesizes each sentence once (small random model,
noise), while post-processing handles every second of the H hours. Each size
is post-processed in a fresh process, whose peak RSS is read from the kernel.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocket_batch.core.config import FRAME_RATE, SAMPLE_RATE, ModelOptions, PostprocOptions, RunConfig, VerifyOptions
from pocket_batch.benchmarks.synth import bench_sentences
from pocket_batch.core.measure import peak_rss_mb

SENTENCES = 16
CHAPTER_MINUTES = 10


def write_book(path: Path, hours: float, seconds_per_chunk: float) -> Path:
    """Chapters of about CHAPTER_MINUTES, one pool sentence a paragraph, to about `hours` of audio."""
    pool = bench_sentences(SENTENCES)
    chunks = int(hours * 3600 / (seconds_per_chunk + 0.7))
    per_chapter = max(1, int(CHAPTER_MINUTES * 60 / (seconds_per_chunk + 0.7)))
    lines = []
    for n in range(chunks):
        if n % per_chapter == 0:
            lines.append(f"\n\nChapter {n // per_chapter + 1}\n\n")
        lines.append(pool[n % len(pool)] + "\n\n")  # one sentence a paragraph: identical chunks, one synthesis
    path.write_text("".join(lines))
    return path


def bench_postproc(hours: list[float], model_dir: Path, workdir: Path, preset: str, console: Console,
                   readalong: str = "off") -> list[dict]:
    from pocket_batch.testing.random_model import make_random_model

    config = model_dir / "config.yaml"
    if not config.is_file():
        make_random_model(model_dir, "english_2m_2026-10")
    source = _source(RunConfig(inputs=(), output=workdir, model=ModelOptions(config=config)))
    pool = bench_sentences(SENTENCES)
    seconds_per_chunk = sum(source.max_frames(s) for s in pool) / len(pool) / FRAME_RATE  # EOS never fires
    rows = []
    for h in hours:
        run = RunConfig(inputs=(write_book(workdir / f"book-{h:g}h.txt", h, seconds_per_chunk),), output=workdir / f"out-{h:g}h",
                        workers=0, model=ModelOptions(config=config),
                        postproc=PostprocOptions(loudness=preset, readalong=readalong),
                        verify=VerifyOptions(enabled=False))  # assembly alone is measured; verification is bench synth's
        _prepare(run)
        result = multiprocessing.get_context("spawn").Pool(1).apply(_postprocess, (run,))
        rows.append({"hours": h} | result)
    table = Table(title=f"bench postproc ({preset}, read-along {readalong}): small random model, noise not speech")
    for column in ("book", "chapters", "audio h", "wall s", "x real time", "peak RSS MiB", "RSS growth MiB"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(f"{r['hours']:g} h", str(r["chapters"]), f"{r['audio_hours']:.2f}", f"{r['wall']:.1f}",
                      f"{r['audio_hours'] * 3600 / r['wall']:.0f}", f"{r['peak_mb']:.0f}", f"{r['growth_mb']:.0f}")
    console.print(table)
    return rows


def _prepare(config: RunConfig):
    """The run, its one book's plan, with every chunk in the cache."""
    from pocket_batch.pipeline.run import Run

    run = Run(config, show_progress=False)
    [book], _ = run.read(config.inputs)
    planned, _ = run.plan([book])
    run.synthesize(planned)
    return run, planned[0]


def _source(config: RunConfig):
    from pocket_batch.synth.model.source import ModelSource

    return ModelSource(config.model)


def _postprocess(config: RunConfig) -> dict:
    """In a fresh process: ingest and plan first, then measure assembling alone."""
    from pocket_batch.synth.work import collect

    run, planned = _prepare(config)  # all cached by now: nothing is synthesized
    baseline = _rss_mb()
    started = time.perf_counter()
    manifest = run.finish_book(planned.book, collect(planned.work, run.cache), planned.work.params)
    wall = time.perf_counter() - started
    peak = peak_rss_mb()
    return {"wall": wall, "peak_mb": peak, "growth_mb": peak - baseline, "chapters": len(manifest.chapters),
            "audio_hours": manifest.outputs.samples / SAMPLE_RATE / 3600}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20
