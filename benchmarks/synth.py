"""`pocket-batch bench synth`: stock pocket-tts vs the pipeline, same chunks, one session, as ratios.

Uses the full-size random model, which costs exactly what the released one does.
Each configuration runs in a fresh process (so peak memory is its own); model
loading is excluded everywhere: stock times its generate_audio loop after a
warm-up chunk, the pipeline times from warmed-up workers to the last chunk.
A shared cloud machine drifts by 10-20% within minutes: `repeat` runs every
configuration several times, in alternating order, and reports the median.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import re
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocket_batch.core.cpu import Cpu
from pocket_batch.core.config import (DEFAULT_CHECKS, SAMPLE_RATE, ModelOptions, Synthesis, VerifyOptions,
                                      default_batch_size, default_workers)
from pocket_batch.synth.work import run_tasks
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.pool.ray_pool import RayExecutor
from pocket_batch.testing.random_model import make_random_model, make_voice_state
from pocket_batch.core.measure import peak_rss_mb
from pocket_batch.synth.pool.worker import SynthTask, SynthWorker
from pocket_batch.verify.backends import make_backend

BENCH_VOICE = "alba"


@dataclass(frozen=True)
class Setup:
    name: str
    quantize: bool
    workers: int = 0  # 0: stock pocket-tts in one process
    batch_size: int = 1
    checks: tuple[str, ...] = ()  # what workers check of each chunk as they make it (none: not verified)
    decoder: str = "fp32"  # the batched workers' Mimi decoder: fp32 or bf16
    decoder_int8: bool = False  # its transformer's linear layers in int8
    seanet_int8: bool = False  # its SEANet's convolutions in int8


def bench_sentences(count: int) -> list[str]:
    """Distinct real English sentences of 10-25 words (Python's bundled help pages): 641 of them."""
    from pydoc_data.topics import topics

    text = " ".join(topics[name] for name in sorted(topics))
    sentences = [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+", text)]
    picked = [s for s in dict.fromkeys(sentences) if 10 <= len(s.split()) <= 25 and s[0].isupper()
              and re.fullmatch(r"[A-Za-z0-9 ,.;:'()\"-]+", s)]
    return picked[:count]


def setups(workers: int, batch_size: int) -> list[Setup]:
    rows = [Setup("stock pocket-tts, 1 process, fp32", False), Setup("stock pocket-tts, 1 process, int8", True)]
    for quantize in (False, True):
        kind = "int8" if quantize else "fp32"
        rows.append(Setup(f"pipeline, {workers} workers x batch 1, {kind}", quantize, workers, 1))
        rows.append(Setup(f"pipeline, {workers} workers x batch {batch_size}, {kind}", quantize, workers, batch_size))
    default = _default(workers, batch_size)
    if default.decoder != "fp32" or default.decoder_int8 or default.seanet_int8:  # the default, where it differs
        rows.append(default)
    return rows


def verify_setups(workers: int, batch_size: int) -> list[Setup]:
    """The default pipeline unverified, hearing words only, with every default gate, and with DNSMOS too:
    what each costs."""
    plain = _default(workers, batch_size)
    gated = [("verified, words only", ("words",)), ("verified, words + voice + quality", DEFAULT_CHECKS),
             ("verified, words + voice + quality + mos", (*DEFAULT_CHECKS, "mos"))]
    return [Setup("stock pocket-tts, 1 process, int8", True), plain] + [
        replace(plain, name=f"{plain.name}, {label}", checks=checks) for label, checks in gated]


def _default(workers: int, batch_size: int) -> Setup:
    """What a run uses by default on this machine: int8, and the decoder `auto` settles on."""
    model = Synthesis(batch_size=batch_size).on(Cpu.this()).model
    decoder = [part for part, on in (("bf16 decoder", model.decoder == "bf16"), ("int8 linears", model.decoder_int8),
                                     ("int8 convolutions", model.seanet_int8)) if on]
    return Setup(f"pipeline, {workers} workers x batch {batch_size}, {''.join(p + ', ' for p in decoder)}int8", True,
                 workers, batch_size, decoder=model.decoder, decoder_int8=model.decoder_int8,
                 seanet_int8=model.seanet_int8)


def bench_synth(chunk_counts: list[int], workers: int | None, batch_size: int | None, model_dir: Path,
                only: list[str] | None, console: Console, repeat: int = 1, verify: bool = False,
                voice_seconds: float | None = None) -> list[dict]:
    """`voice_seconds`: read with a voice cloned from that much audio instead of the 3 s preset; a row's
    KV cache grows with its voice's prompt, as it does with a released voice or a long clone. `batch_size`:
    the batched pipeline rows' (None: this CPU's default)."""
    batch_size = batch_size or default_batch_size(Cpu.this())
    config = model_dir / "config.yaml"
    if not config.is_file():
        console.print(f"building the full-size random model in {model_dir} (once)...")
        make_random_model(model_dir, "english")
    voice = BENCH_VOICE
    if voice_seconds:
        voice = str(model_dir / "bench-voices" / f"clone-{voice_seconds:g}s.safetensors")
        if not Path(voice).is_file():
            with multiprocessing.get_context("spawn").Pool(1) as pool:  # the model's memory leaves with it
                pool.apply(make_voice_state, (config, voice_seconds, Path(voice)))
    texts = bench_sentences(max(chunk_counts))
    if len(texts) < max(chunk_counts):
        console.print(f"[yellow]only {len(texts)} distinct sentences available[/]")
    every = (verify_setups if verify else setups)(workers or default_workers(), batch_size)
    chosen = _chosen(every, only)
    rows = []
    for count in chunk_counts:
        runs: dict[str, list[dict]] = {setup.name: [] for setup in chosen}
        for round_ in range(repeat):
            # Forward, then backward: a machine speeding up or slowing down during the run
            # weighs on every configuration alike.
            for setup in chosen if round_ % 2 == 0 else chosen[::-1]:
                with multiprocessing.get_context("spawn").Pool(1) as pool:
                    runs[setup.name].append(pool.apply(_measure, (setup, config, texts[:count], voice)))
                console.print(f"  {setup.name}, {count} chunks: {runs[setup.name][-1]['speed']:.2f} audio-s/wall-s",
                              highlight=False)
        rows += [_median(measured) for measured in runs.values()]
    _print(rows, console)
    return rows


def _chosen(every: list[Setup], only: list[str] | None) -> list[Setup]:
    """A configuration's full name picks it alone (the default row's name begins every verified row's);
    any other text picks each configuration whose name contains it."""
    if not only:
        return every
    names = {s.name for s in every}
    return [s for s in every if s.name in only or any(o not in names and o in s.name for o in only)]


def _median(runs: list[dict]) -> dict:
    """One configuration's runs as one row: the median run's speed, the range, the largest memory."""
    speeds = sorted(r["speed"] for r in runs)
    middle = min(runs, key=lambda r: abs(r["speed"] - statistics.median(speeds)))
    return middle | {"speed": statistics.median(speeds), "speeds": speeds,
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                     "peak_private_mb": max(r["peak_private_mb"] for r in runs)}


def _measure(setup: Setup, config: Path, texts: list[str], voice: str = BENCH_VOICE) -> dict:
    options = ModelOptions(config=config, quantize=setup.quantize, decoder=setup.decoder,
                           decoder_int8=setup.decoder_int8, seanet_int8=setup.seanet_int8)
    if not setup.workers:
        samples, wall, rss, private = _stock(options, texts, voice)
    else:
        samples, wall, rss, private = _pipeline(options, texts, setup, voice)
    audio = samples / SAMPLE_RATE
    return {"config": setup.name, "chunks": len(texts), "audio_s": audio, "wall_s": wall, "speed": audio / wall,
            "peak_rss_mb": rss, "peak_private_mb": private}


def _stock(options: ModelOptions, texts: list[str], voice: str) -> tuple[int, float, float, float]:
    """pocket-tts as its README uses it: one model, generate_audio per chunk, one process."""
    import logging

    import torch

    from pocket_batch.synth.fast.internals import pocket_tts
    from pocket_batch.synth.model.source import quiet_int8_load

    with quiet_int8_load():
        model = pocket_tts().TTSModel.load_model(config=str(options.config), quantize=options.quantize)
    logging.getLogger("pocket_tts").setLevel(logging.ERROR)  # max-length warnings: expected here
    preset = options.config.parent / "voices" / f"{voice}.safetensors"
    state = model.get_state_for_audio_prompt(str(preset if preset.is_file() else voice))
    model.generate_audio(state, texts[0])  # warm-up, as the pipeline's workers are warmed up
    samples, started = 0, time.perf_counter()
    with PrivatePeak([os.getpid()]) as private:
        for n, text in enumerate(texts):
            torch.manual_seed(n)
            samples += model.generate_audio(state, text).shape[-1]
    return samples, time.perf_counter() - started, peak_rss_mb(), private.mb


def _pipeline(options: ModelOptions, texts: list[str], setup: Setup, voice_spec: str) -> tuple[int, float, float, float]:
    from pocket_batch.synth.model.source import ModelSource
    from pocket_batch.synth.model.voices import resolve_voice

    voice = resolve_voice(voice_spec, ModelSource(options))
    tasks = [SynthTask(f"bench{n:05d}", text, voice.fingerprint, n, 50) for n, text in enumerate(texts)]
    verify = VerifyOptions(checks=setup.checks) if setup.checks else None
    backend = make_backend(verify, texts) if verify and "words" in verify.checks else None  # as a run listens
    make_worker = functools.partial(SynthWorker, options, batch_size=setup.batch_size, verify=verify, backend=backend)
    sizes: list[int] = []
    with tempfile.TemporaryDirectory() as tmp, RayExecutor(make_worker, setup.workers) as executor:
        pids = [int(name.rsplit(":", 1)[1]) for name in executor.worker_names]  # a local cluster: ours to read
        started = time.perf_counter()
        with PrivatePeak(pids) as private:
            run_tasks(tasks, [voice], executor, AudioCache(Path(tmp)),
                      on_result=lambda out: sizes.append(out.audio.size))
        wall = time.perf_counter() - started
        rss = max(executor.worker_peak_rss_mb())
    return sum(sizes), wall, rss, private.mb


class PrivatePeak:
    """The largest RssAnon of any of these processes while the block runs, read every 50 ms.

    RssAnon is a process's own memory: peak RSS (ru_maxrss) also counts shared libraries,
    and for a Ray worker the pages of the shared object store it wrote results into, which
    belong to the node's store, not to the worker.
    """

    def __init__(self, pids: list[int], every: float = 0.05):
        self.pids, self.every, self.mb = pids, every, 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PrivatePeak:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        while True:
            for pid in self.pids:
                self.mb = max(self.mb, _rss_anon_mb(pid))
            if self.done.wait(self.every):
                return


def _rss_anon_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # gone (a replaced worker), or not Linux
        return 0.0
    kib = re.search(r"^RssAnon:\s+(\d+) kB", status, re.MULTILINE)
    return int(kib.group(1)) / 1024 if kib else 0.0


def _print(rows: list[dict], console: Console) -> None:
    table = Table(title="bench synth: full-size random model (noise, not speech), same chunks, one session; "
                        f"{Cpu.this().describe()}")
    for column in ("configuration", "chunks", "audio s", "wall s", "audio-s/wall-s", "range", "vs best stock",
                   "peak RSS / worker", "peak private / worker"):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for count in dict.fromkeys(r["chunks"] for r in rows):
        group = [r for r in rows if r["chunks"] == count]
        stock = max((r["speed"] for r in group if r["config"].startswith("stock")), default=None)
        plain = next((r["speed"] for r in group if any(g["config"].startswith(r["config"] + ", verified")
                                                      for g in group)), None)
        words = next((r["speed"] for r in group if r["config"].endswith("words only")), None)
        for r in group:
            ratio = f"{r['speed'] / stock:.2f}×" if stock else ""
            if ", verified" in r["config"] and plain:
                ratio += f" (wall +{plain / r['speed'] - 1:.0%} vs unverified"
                ratio += f", +{words / r['speed'] - 1:.0%} vs words only)" if words and "words +" in r["config"] else ")"
            speeds = r["speeds"]
            runs = f"{speeds[0]:.2f}–{speeds[-1]:.2f} ({len(speeds)} runs)" if len(speeds) > 1 else "1 run"
            table.add_row(r["config"], str(r["chunks"]), f"{r['audio_s']:.0f}", f"{r['wall_s']:.1f}",
                          f"{r['speed']:.2f}", runs, ratio, f"{r['peak_rss_mb']:.0f} MiB", f"{r['peak_private_mb']:.0f} MiB")
    console.print(table)
