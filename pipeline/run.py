"""Wiring the stages: ingest -> synth (on an executor) -> post-processing and manifest.

Every input and the voice are checked before anything is written; the executor
(and with it Ray) starts only when some chunk is not in the cache yet. A book that
fails — unreadable, chunks failing on every retry, post-processing — is reported
and the others go on.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from pathlib import Path

from pocket_batch.ingest.book import read_book
from pocket_batch.core.config import PRESETS, SAMPLE_RATE, SYNTHETIC, RunConfig, Synthesis, default_workers
from pocket_batch.core.errors import PocketBatchError, one_line, os_error_line
from pocket_batch.core.layout import OutputLayout, inside, safe_name
from pocket_batch.core.measure import clock
from pocket_batch.core.files import sha256_file, sha256_json
from pocket_batch.pipeline.lock import output_lock, remove_partial_files
from pocket_batch.pipeline.progress import EncodeProgress, SynthProgress
from pocket_batch.core.records import Book
from pocket_batch.pipeline.runlog import log, run_log
from pocket_batch.pipeline.state import DONE, FAILED, BookState, finished_manifest, write_state
from pocket_batch.core.reports import Manifest
from pocket_batch.postproc.audiobook import Assembly, OnChapter, assemble
from pocket_batch.postproc.manifest import write_manifest
from pocket_batch.synth.cache import AudioCache
from pocket_batch.synth.executors import make_executor
from pocket_batch.synth.model import ModelSource
from pocket_batch.synth.voices import Voice, resolve_voice
from pocket_batch.synth.work import Work, collect, plan_work, run_tasks
from pocket_batch.synth.worker import SynthFailure, SynthTask, SynthWorker


@dataclass(frozen=True)
class BookResult:
    source: Path
    folder: Path | None = None
    error: str | None = None  # one line naming the input and what went wrong
    audio_seconds: float = 0.0
    chapters: int = 0
    already: bool = False  # finished by an earlier run; nothing was done
    m4b: Path | None = None  # the book's audiobook; its chapters, subtitles and manifest are beside it
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    books: list[BookResult]
    synthesized: int  # chunks synthesized by this run (0 when all were cached)
    wall_seconds: float
    log: Path | None = None

    @property
    def failed(self) -> list[BookResult]:
        return [b for b in self.books if b.error]


@dataclass(frozen=True)
class Session:
    """A run's model and voice, resolved once, and the hash of every setting that changes the audio."""

    config: RunConfig
    source: ModelSource
    voice: Voice
    settings: str
    cache: AudioCache  # one per run: each entry's content is checked once, when first used


def open_session(config: RunConfig) -> Session:
    source = ModelSource(config.model)
    voice = resolve_voice(config.voice, source, config.consent)
    settings = settings_hash(config, source, voice)
    source.tokenizer  # noqa: B018 - every book needs it: an unreachable model stops the run here, once
    return Session(config, source, voice, settings, AudioCache(OutputLayout(config.output).cache))


def settings_hash(config: RunConfig, source: ModelSource, voice: Voice) -> str:
    """Every setting that changes a book's outputs: a finished book with other settings renders again."""
    return sha256_json({"voice": voice.fingerprint, "model": source.fingerprint,
                        **config.model_dump(mode="json", include={"ingest", "generation", "postproc"})})


def render(config: RunConfig, show_progress: bool = True) -> RunResult:
    """Read every input first (a bad one writes nothing), then produce under the output's lock.

    An input whose outputs are finished for these bytes and settings is not read again: a rerun
    of a finished book takes the time of hashing its input and checking its files.
    """
    started = time.perf_counter()
    session = open_session(config)
    finished = [finished_result(session, path) for path in config.inputs]
    pending = tuple(path for path, done in zip(config.inputs, finished) if done is None)
    finished = [done for done in finished if done is not None]
    if not pending:
        return RunResult(finished, 0, time.perf_counter() - started)
    books, failed = read_books(session, pending)
    if not books:
        raise PocketBatchError("; ".join(message for _, message in failed))
    with output_lock(config.output), run_log(config.output) as log_path:
        result = produce(session, books, failed, show_progress, log_path)
    return replace(result, books=finished + result.books)


def finished_result(session: Session, source: Path) -> BookResult | None:
    """The outcome of an input finished earlier with these bytes and settings, or None if it has work left."""
    if not source.is_file():
        return None
    manifest = finished_manifest(session.config.output, source, sha256_file(source), session.settings)
    if manifest is None:
        return None
    folder = book_dir(session.config, source)
    return BookResult(source, folder, None, manifest.outputs.duration, len(manifest.chapters), already=True,
                      m4b=folder / manifest.outputs.m4b)


def produce(session: Session, books: list[Book], unreadable: list[tuple[Path, str]],
            show_progress: bool = True, log_path: Path | None = None) -> RunResult:
    """Synthesize and finish read books; the caller holds the output folder's lock."""
    config, started = session.config, time.perf_counter()
    if removed := remove_partial_files(config.output):
        log.info("removed %d partial files a killed run left behind", removed)
    results = [_fail(session, path, message) for path, message in unreadable]
    planned: list[tuple[Book, Work]] = []
    for book in books:
        for warning in book.warnings:
            log.warning("%s: %s", book.source.name, warning)
        try:
            work = plan_work(book.chunks, session.voice, session.source, config.generation, session.cache)
        except Exception as exc:  # noqa: BLE001 - one book's failure is recorded; the others go on
            results.append(_fail(session, book.source, failure_line(book.source, exc)))
            continue
        _write_state(session, book.source, book_dir(config, book), list(work.keys.values()))
        planned.append((book, work))
    works = [work for _, work in planned]
    summary = (f"{len(planned)} books, {sum(len(w.keys) for w in works)} chunks "
               f"({len({k for w in works for k in w.keys.values()})} distinct), "
               f"{len({t.key for w in works for t in w.tasks})} to synthesize with voice {session.voice.name}")
    log.info(summary)
    synthesized, failures = synthesize_works(session, works, show_progress, summary)
    results += [_finish_or_fail(session, book, work, failures, show_progress) for book, work in planned]
    return RunResult(results, synthesized, time.perf_counter() - started, log_path)


def failure_line(source: Path, exc: Exception) -> str:
    """One line naming the input and what went wrong; the traceback goes to the run's log."""
    if isinstance(exc, PocketBatchError):
        return str(exc)
    if isinstance(exc, OSError):
        return os_error_line(exc) if exc.filename else f"{source}: {os_error_line(exc)}"
    log.error("%s failed", source, exc_info=exc)
    return f"{source}: {one_line(exc)}"


def _finish_or_fail(session: Session, book: Book, work: Work, failures: dict[str, SynthFailure],
                    show_progress: bool = False) -> BookResult:
    keys = list(work.keys.values())
    failed = {key: failures[key].reason for key in keys if key in failures}
    if failed:
        message = f"{book.source}: {len(failed)} chunks failed on every retry (last: {next(iter(failed.values()))})"
        return _fail(session, book.source, message, keys, failed)
    try:
        if show_progress:
            with EncodeProgress(book.source.name) as progress:
                manifest = finish_book(session, book, work, progress.chapter)
        else:
            manifest = finish_book(session, book, work)
    except OSError:
        raise  # a full disk or a read-only folder is not this book's fault: the run stops, in one line
    except Exception as exc:  # noqa: BLE001 - one book's failure is recorded; the others go on
        return _fail(session, book.source, failure_line(book.source, exc), keys)
    seconds = manifest.outputs.duration
    folder = book_dir(session.config, book)
    _write_state(session, book.source, folder, keys, status=DONE, audio_seconds=seconds)
    log.info("done %s: %d chapters, %s of audio -> %s", book.source.name, len(manifest.chapters),
             clock(seconds), folder)
    return BookResult(book.source, folder, None, seconds, len(manifest.chapters), m4b=folder / manifest.outputs.m4b,
                      warnings=book.warnings)


def _fail(session: Session, source: Path, message: str, keys: list[str] | None = None,
          failed_chunks: dict[str, str] | None = None) -> BookResult:
    log.error("failed %s", message)
    _write_state(session, source, book_dir(session.config, source), keys or [], status=FAILED, reason=message,
                 failed_chunks=failed_chunks or {})
    return BookResult(source, None, message)


def _write_state(session: Session, source: Path, folder: Path, keys: list[str], **fields) -> None:
    digest = sha256_file(source) if source.is_file() else ""
    write_state(session.config.output, BookState(str(source), digest, session.settings, str(folder), keys=keys,
                                                 **fields))


def synthesize_works(session: Session, works: list[Work], show_progress: bool = True, summary: str = ""
                     ) -> tuple[int, dict[str, SynthFailure]]:
    """Every chunk the cache lacks, each distinct one once: how many were tried, and which failed."""
    tasks = list({t.key: t for w in works for t in w.tasks}.values())
    failures = (synthesize_tasks(session.config, tasks, [session.voice], session.cache, show_progress, summary)
                if tasks else {})
    return len(tasks), failures


def read_books(session: Session, inputs: tuple[Path, ...]) -> tuple[list[Book], list[tuple[Path, str]]]:
    """Every readable input; a bad one is reported and the others go on."""
    config, books, failed = session.config, [], []
    for path in inputs:
        try:
            book = read_book(path, session.source.count_tokens, config.generation.max_tokens, config.ingest)
        except Exception as exc:  # noqa: BLE001 - an unreadable book is reported; the others go on
            failed.append((path, failure_line(path, exc)))
            continue
        mismatch = session.source.language_warning(book.language)
        books.append(replace(book, warnings=book.warnings + (mismatch,)) if mismatch else book)
    return books, failed


def synthesize_tasks(config: Synthesis, tasks: list[SynthTask], voices: list[Voice],
                     cache: AudioCache, show_progress: bool, summary: str = "") -> dict[str, SynthFailure]:
    """Tasks through an executor made from the config's worker settings, results into the cache."""
    workers = default_workers() if config.workers is None else config.workers
    make_worker = functools.partial(SynthWorker, config.model, config.generation.temperature,
                                    config.torch_threads, config.voice_cache_size, config.batch_size)
    with make_executor(make_worker, workers, config.torch_threads, config.address,
                       config.chunk_retries, config.chunk_timeout) as executor:
        if not show_progress:
            failures = run_tasks(tasks, voices, executor, cache)
        else:
            with SynthProgress({t.key: t.text for t in tasks}, summary) as progress:
                failures = run_tasks(tasks, voices, executor, cache,
                                     on_result=lambda out: progress.advance(out.key, out.audio.size / SAMPLE_RATE))
        if replaced := getattr(executor, "replaced", 0):
            log.warning("%d workers replaced after dying or timing out", replaced)
    for failure in failures.values():
        log.error("chunk %s failed after %d attempts: %s", failure.key, failure.attempts, failure.reason)
    return failures


def book_dir(config: RunConfig, book: Book | Path) -> Path:
    """The output folder itself for one input; a subfolder per input for several (or when asked)."""
    source = book.source if isinstance(book, Book) else book
    per_input = config.folder_per_input if config.folder_per_input is not None else len(config.inputs) > 1
    return inside(config.output, config.output / safe_name(source.stem, "book")) if per_input else config.output


def finish_book(session: Session, book: Book, work: Work, on_chapter: OnChapter | None = None) -> Manifest:
    """Post-processing and the manifest, once every chunk of the book is in the cache."""
    config, source, voice = session.config, session.source, session.voice
    folder = book_dir(config, book)
    folder.mkdir(parents=True, exist_ok=True)
    cache = session.cache
    voice_info = voice.provenance | {"kind": voice.kind, "name": voice.name, "fingerprint": voice.fingerprint}
    result = assemble(book, collect(work, cache),
                      Assembly(cache, folder, config.postproc, book_tags(book, voice.name), on_chapter))
    model = {"config": str(source.config_path), "fingerprint": source.fingerprint,
             "quantize": config.model.quantize, "params": work.params}
    preset = PRESETS[config.postproc.loudness]
    return write_manifest(folder / "manifest.json", book, result, config=config.model_dump(mode="json"),
                          model=model, voice=voice_info,
                          loudness={"preset": config.postproc.loudness} | preset.model_dump())


def book_tags(book: Book, narrator: str) -> dict[str, str]:
    year = (book.date or "")[:4]
    return {"title": book.title, "album": book.title, "artist": book.author or "", "album_artist": book.author or "",
            "composer": f"Pocket TTS \u2014 {narrator}", "genre": "Audiobook", "date": year if year.isdigit() else "",
            "comment": SYNTHETIC}

