"""`pocket-batch bench synth`: stock pocket-tts vs the pipeline, same chunks, one run, as ratios.

Uses the full-size random model, which costs exactly what the released one does.
Model loading is excluded everywhere: stock times its generate_audio loop, the
pipeline times from warmed-up workers to the last chunk in the cache.
"""

from __future__ import annotations

import functools
import re
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocket_batch.pipeline.config import SAMPLE_RATE, ModelOptions, default_workers
from pocket_batch.synth import run_tasks
from pocket_batch.synth.cache import AudioCache
from pocket_batch.synth.executors import RayExecutor, start_ray
from pocket_batch.synth.random_model import make_random_model
from pocket_batch.synth.worker import SynthTask, SynthWorker

BENCH_VOICE = "alba"


def bench_sentences(count: int) -> list[str]:
    """Distinct real English sentences of 10-25 words (Python's bundled help pages)."""
    from pydoc_data.topics import topics

    text = " ".join(topics[name] for name in sorted(topics))
    sentences = [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+", text)]
    picked = [s for s in dict.fromkeys(sentences) if 10 <= len(s.split()) <= 25 and s[0].isupper()
              and re.fullmatch(r"[A-Za-z ,.;:'()-]+", s)]
    return picked[:count]


def bench_synth(chunks: int, workers: int | None, model_dir: Path, quantize: bool, console: Console) -> list[dict]:
    config = model_dir / "config.yaml"
    if not config.is_file():
        console.print(f"building the full-size random model in {model_dir} (once)...")
        make_random_model(model_dir, "english")
    options = ModelOptions(config=config, quantize=quantize)
    texts = bench_sentences(chunks)
    workers = workers or default_workers()
    rows = [_stock(options, texts)]
    start_ray(None, num_cpus=workers)
    for n in dict.fromkeys([1, workers]):
        rows.append(_pipeline(options, texts, n))
    _print(rows, console, quantize)
    return rows


def _voice(options: ModelOptions):
    from pocket_batch.synth.model import ModelSource
    from pocket_batch.synth.voices import resolve_voice

    return resolve_voice(BENCH_VOICE, ModelSource(options))


def _stock(options: ModelOptions, texts: list[str]) -> dict:
    """pocket-tts as its README uses it: one model, generate_audio per chunk, one process."""
    import logging

    import torch
    from pocket_tts import TTSModel

    model = TTSModel.load_model(config=str(options.config), quantize=options.quantize)
    logging.getLogger("pocket_tts").setLevel(logging.ERROR)  # max-length warnings: expected here
    state = model.get_state_for_audio_prompt(str(options.config.parent / "voices" / f"{BENCH_VOICE}.safetensors"))
    model.generate_audio(state, texts[0])  # warm-up, as the pipeline's workers are warmed up
    samples, started = 0, time.perf_counter()
    for n, text in enumerate(texts):
        torch.manual_seed(n)
        samples += model.generate_audio(state, text).shape[-1]
    return _row("stock, 1 process", len(texts), samples, time.perf_counter() - started)


def _pipeline(options: ModelOptions, texts: list[str], workers: int) -> dict:
    voice = _voice(options)
    tasks = [SynthTask(f"bench{n:05d}", text, voice.fingerprint, n, 50) for n, text in enumerate(texts)]
    make_worker = functools.partial(SynthWorker, options)
    sizes: list[int] = []
    with tempfile.TemporaryDirectory() as tmp, RayExecutor(make_worker, workers) as executor:
        executor.warm_up()
        started = time.perf_counter()
        run_tasks(tasks, [voice], executor, AudioCache(Path(tmp)), on_result=lambda out: sizes.append(out.audio.size))
        wall = time.perf_counter() - started
    samples = sum(sizes)
    return _row(f"pipeline, {workers} worker{'s' if workers > 1 else ''}", len(texts), samples, wall)


def _row(name: str, chunks: int, samples: int, wall: float) -> dict:
    audio = samples / SAMPLE_RATE
    return {"config": name, "chunks": chunks, "audio_s": audio, "wall_s": wall, "speed": audio / wall}


def _print(rows: list[dict], console: Console, quantize: bool) -> None:
    stock = rows[0]["speed"]
    table = Table(title=f"bench synth: full-size random model, {'int8' if quantize else 'fp32'} (noise, not speech)")
    for column in ("configuration", "chunks", "audio s", "wall s", "audio-s/wall-s", "vs stock"):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for r in rows:
        table.add_row(r["config"], str(r["chunks"]), f"{r['audio_s']:.1f}", f"{r['wall_s']:.1f}",
                      f"{r['speed']:.2f}", f"{r['speed'] / stock:.2f}×")
    console.print(table)
