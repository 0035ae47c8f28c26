"""`pocket-batch bench corpus`: a corpus's orchestration cost as it grows to a million rows.

The real corpus run (prompt file read twice as a stream, splits planned, voices dealt, keys planned, the
cache, QA, WAVs evened and written, the manifest and formats streamed) with the driver bench's stand-in
workers (bench driver: the real worker around a model that returns noise at once), two of them on Ray. The
stand-in says 0.01 s a word, so the disk holds a million rows; what is measured is the driver: rows a second,
its peak RSS (each size in a fresh process), and the time to append ten rows to the finished corpus.
"""

from __future__ import annotations

import functools
import multiprocessing
import resource
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocket_batch.benchmarks.driver import StandInWorker
from pocket_batch.core.config import CorpusConfig, ModelOptions, QAOptions, VerifyOptions
from pocket_batch.core.cpu import Cpu

SECONDS_PER_WORD = 0.01
WORDS = "amber birch cedar delta ember fable garnet harbor island juniper kestrel lantern meadow".split()


def write_prompts(path: Path, rows: range, mode: str = "w") -> None:
    with path.open(mode, encoding="utf-8") as f:
        if mode == "w":
            f.write("id,text\n")
        f.writelines(f"r{n:07d},{WORDS[n % 13].capitalize()} {WORDS[n * 7 % 13]} {n}.\n" for n in rows)


def _run(rows: int, model: Path, workdir: Path, formats: tuple[str, ...]) -> dict:
    from pocket_batch.pipeline.corpus import build_corpus

    folder = workdir / f"rows-{rows}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    prompts = folder / "prompts.csv"
    write_prompts(prompts, range(rows))
    config = CorpusConfig(csv=prompts, output=folder / "corpus", voices=("alba", "marius"), voice_pool=True,
                          workers=2, model=ModelOptions(config=model), formats=formats, sample_rate=16_000,
                          qa=QAOptions(retries=0, min_seconds_per_token=0.0), verify=VerifyOptions(enabled=False))
    worker = functools.partial(StandInWorker, seconds_per_word=SECONDS_PER_WORD)
    started = time.perf_counter()
    result = build_corpus(config, show_progress=False, worker=worker)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    write_prompts(prompts, range(rows, rows + 10), "a")
    started = time.perf_counter()
    again = build_corpus(config, show_progress=False, worker=worker)
    append = time.perf_counter() - started
    assert (result.kept, again.kept, again.synthesized) == (rows, rows + 10, 10), (result, again)
    shutil.rmtree(folder)
    return {"rows": rows, "wall_s": wall, "rows_per_s": rows / wall, "peak_rss": peak, "append_s": append,
            "peak_rss_after_append": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def bench_corpus(sizes: list[int], model_dir: Path, workdir: Path, formats: tuple[str, ...],
                 console: Console) -> list[dict]:
    from pocket_batch.testing.random_model import make_random_model

    model = model_dir / "config.yaml"
    if not model.is_file():
        make_random_model(model_dir, "english_2m_2026-10")
    results = []
    for rows in sizes:
        with multiprocessing.get_context("spawn").Pool(1) as pool:  # a fresh driver for each size: its own peak
            results.append(pool.apply(_run, (rows, model, workdir, formats)))
        r = results[-1]
        console.print(f"  {rows} rows: {r['rows_per_s']:.0f} rows/s, peak RSS {r['peak_rss'] / 2**20:.0f} MiB, "
                      f"append 10 in {r['append_s']:.1f} s", highlight=False)
    table = Table(title=f"bench corpus: stand-in workers (2, Ray), formats {', '.join(formats)}; {Cpu.this().describe()}")
    for column in ("rows", "wall s", "rows/s", "driver peak RSS", "append 10 rows", "peak RSS with the append"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(f"{r['rows']:,}", f"{r['wall_s']:.0f}", f"{r['rows_per_s']:.0f}", f"{r['peak_rss'] / 2**20:.0f} MiB",
                      f"{r['append_s']:.1f} s", f"{r['peak_rss_after_append'] / 2**20:.0f} MiB")
    console.print(table)
    return results
