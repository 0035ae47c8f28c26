"""Wiring the stages: ingest -> synth (on an executor) -> post-processing and manifest.

Every input and the voice are checked before anything is written; the executor
(and with it Ray) starts only when some chunk is not in the cache yet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from pocket_batch.ingest import read_book
from pocket_batch.pipeline.config import PRESETS, SAMPLE_RATE, CorpusConfig, RunConfig, default_workers
from pocket_batch.pipeline.errors import PocketBatchError
from pocket_batch.pipeline.progress import SynthProgress
from pocket_batch.pipeline.records import Book
from pocket_batch.postproc.audiobook import SYNTHETIC, assemble
from pocket_batch.postproc.manifest import write_manifest
from pocket_batch.synth import Plan, collect, plan, run_tasks
from pocket_batch.synth.cache import AudioCache
from pocket_batch.synth.executors import make_executor
from pocket_batch.synth.model import ModelSource
from pocket_batch.synth.voices import Voice, resolve_voice
from pocket_batch.synth.worker import SynthTask, SynthWorker


@dataclass(frozen=True)
class RunResult:
    outputs: list[Path]  # one manifest per input
    synthesized: int  # chunks synthesized by this run (0 when all were cached)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # inputs that could not be read, and why


def render(config: RunConfig, show_progress: bool = True) -> RunResult:
    source = ModelSource(config.model)
    voice = resolve_voice(config.voice, source, config.consent)
    books, failed = read_books(config, source)
    plans = plan_books(config, source, voice, books)
    synthesized = synthesize_plans(config, plans, voice, show_progress)
    manifests = [finish_book(config, book, p, source, voice) for book, p in zip(books, plans)]
    return RunResult(manifests, synthesized, failed)


def cache_of(config: RunConfig) -> AudioCache:
    return AudioCache(config.output / "cache")


def plan_books(config: RunConfig, source: ModelSource, voice: Voice, books: list[Book]) -> list[Plan]:
    return [plan(book.chunks, voice, source, config.generation, cache_of(config)) for book in books]


def synthesize_plans(config: RunConfig, plans: list[Plan], voice: Voice, show_progress: bool = True) -> int:
    """Every chunk the cache lacks, each distinct one once; returns how many were synthesized."""
    tasks = list({t.key: t for p in plans for t in p.tasks}.values())
    if tasks:
        synthesize_tasks(config, tasks, [voice], cache_of(config), show_progress)
    return len(tasks)


def read_books(config: RunConfig, source: ModelSource) -> tuple[list[Book], list[tuple[Path, str]]]:
    """Every readable input; a bad one is reported and the others go on."""
    books, failed = [], []
    for path in config.inputs:
        try:
            books.append(read_book(path, source.count_tokens, config.generation.max_tokens, config.ingest))
        except PocketBatchError as exc:
            failed.append((path, str(exc)))
    if not books:
        raise PocketBatchError("; ".join(message for _, message in failed))
    return books, failed


def synthesize_tasks(config: RunConfig | CorpusConfig, tasks: list[SynthTask], voices: list[Voice],
                     cache: AudioCache, show_progress: bool) -> None:
    """Tasks through an executor made from the config's worker settings, results into the cache."""
    workers = default_workers() if config.workers is None else config.workers
    make_worker = functools.partial(SynthWorker, config.model, config.generation.temperature,
                                    config.torch_threads, config.voice_cache_size)
    with make_executor(make_worker, workers, config.torch_threads, config.address) as executor:
        if not show_progress:
            return run_tasks(tasks, voices, executor, cache)
        with SynthProgress(len(tasks)) as progress:
            run_tasks(tasks, voices, executor, cache,
                      on_result=lambda out: progress.advance(out.audio.size / SAMPLE_RATE))


def book_dir(config: RunConfig, book: Book) -> Path:
    """The output folder itself for one input; a subfolder per input for several."""
    return config.output if len(config.inputs) == 1 else config.output / book.source.stem


def finish_book(config: RunConfig, book: Book, p: Plan, source: ModelSource, voice: Voice) -> Path:
    """Post-processing and the manifest, once every chunk of the book is in the cache."""
    folder = book_dir(config, book)
    folder.mkdir(parents=True, exist_ok=True)
    cache = cache_of(config)
    voice_info = voice.provenance | {"kind": voice.kind, "name": voice.name, "fingerprint": voice.fingerprint}
    result = assemble(book, p.keys, collect(p, cache), cache, folder, config.postproc, book_tags(book, voice.name))
    manifest = folder / "manifest.json"
    model = {"config": str(source.config_path), "fingerprint": source.fingerprint,
             "quantize": config.model.quantize, "params": p.params}
    preset = PRESETS[config.postproc.loudness]
    write_manifest(manifest, book, result, config=config.model_dump(mode="json"), model=model, voice=voice_info,
                   loudness={"preset": config.postproc.loudness} | preset.model_dump())
    return manifest


def book_tags(book: Book, narrator: str) -> dict[str, str]:
    year = (book.metadata.get("date") or "")[:4]
    return {"title": book.title, "album": book.title, "artist": book.author or "", "album_artist": book.author or "",
            "composer": f"Pocket TTS \u2014 {narrator}", "genre": "Audiobook", "date": year if year.isdigit() else "",
            "comment": SYNTHETIC}
