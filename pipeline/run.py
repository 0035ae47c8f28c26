"""Wiring the stages: ingest -> synth (on an executor) -> post-processing and manifest.

Every input and the voice are checked before anything is written; the executor
(and with it Ray) starts only when some chunk is not in the cache yet. A book that
fails — unreadable, chunks failing on every retry, post-processing — is reported
and the others go on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from pocket_batch.ingest.book import read_book
from pocket_batch.ingest.selection import select
from pocket_batch.core.config import PRESETS, SYNTHETIC, PostprocOptions, RunConfig
from pocket_batch.core.errors import PocketBatchError, one_line, os_error_line
from pocket_batch.core.layout import OutputLayout, inside, safe_name
from pocket_batch.core.measure import clock
from pocket_batch.core.files import sha256_file, sha256_json
from pocket_batch.pipeline import stop
from pocket_batch.pipeline.lock import output_lock, remove_partial_files
from pocket_batch.pipeline.progress import EncodeProgress
from pocket_batch.core.records import Book, ChunkAudio
from pocket_batch.pipeline.runlog import log, run_log
from pocket_batch.pipeline.state import DONE, FAILED, BookState, finished_manifest, write_state
from pocket_batch.core.reports import Manifest, RedoneChunk
from pocket_batch.postproc.audiobook import Assembly, Audiobook, OnChapter, assemble
from pocket_batch.postproc.manifest import write_manifest
from pocket_batch.postproc.report import write_book_report
from pocket_batch.postproc.readalong.build import ReadAlong, write_readalong
from pocket_batch.pipeline.takes import Retaking, Synthesizer, Takes, Verifier, verify_takes
from pocket_batch.postproc.verify_report import write_verify_report
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Cast, Voice, resolve_voice
from pocket_batch.synth.work import Work, collect, plan_work
from pocket_batch.synth.pool.worker import SynthFailure
from pocket_batch.verify.backends import hears


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
    verified: int = 0  # chunks heard by the recognizer
    regenerated: int = 0  # chunks taken again after failing verification
    flagged: int = 0  # chunks that still fail verification (kept, and listed in verify.json)


@dataclass(frozen=True)
class RunResult:
    books: list[BookResult]
    synthesized: int  # chunks synthesized by this run (0 when all were cached)
    wall_seconds: float
    log: Path | None = None

    @property
    def failed(self) -> list[BookResult]:
        return [b for b in self.books if b.error]

    @property
    def flagged(self) -> int:
        """Chunks, over every book, that still fail verification."""
        return sum(b.flagged for b in self.books)


@dataclass(frozen=True)
class Session:
    """A run's model and voice, resolved once, and the hash of every setting that changes the audio."""

    config: RunConfig
    source: ModelSource
    voice: Voice
    settings: str
    cache: AudioCache  # one per run: each entry's content is checked once, when first used
    verifier: Verifier | None = None  # None: --no-verify
    cast: Cast | None = None  # the narrator and every voice the books' marks name, each resolved once

    def verifies(self, book: Book) -> bool:
        return self.verifier is not None and hears(self.verifier.backend, book.language)


def open_session(config: RunConfig) -> Session:
    source = ModelSource(config.model)
    voice = resolve_voice(config.voice, source, config.consent)
    settings = settings_hash(config, source, voice)
    source.tokenizer  # noqa: B018 - every book needs it: an unreachable model stops the run here, once
    layout = OutputLayout(config.output)
    verifier = Verifier(config.verify, layout.verdicts) if config.verify.enabled is not False else None
    cast = Cast(voice)
    for spec in dict.fromkeys(filter(None, [config.ingest.dialogue_voice, *config.ingest.characters.values()])):
        cast.others[spec] = resolve_voice(spec, source)  # every voice of the map checked before anything is written
    return Session(config, source, voice, settings, AudioCache(layout.cache), verifier, cast)


def settings_hash(config: RunConfig, source: ModelSource, voice: Voice) -> str:
    """Every setting that changes a book's outputs: a finished book with other settings renders again."""
    return sha256_json({"voice": voice.fingerprint, "model": source.fingerprint,
                        **config.model_dump(mode="json", include={"ingest", "generation", "postproc", "verify"})})


def render(config: RunConfig, show_progress: bool = True) -> RunResult:
    """Read every input first (a bad one writes nothing), then produce under the output's lock.

    An input whose outputs are finished for these bytes and settings is not read again: a rerun
    of a finished book takes the time of hashing its input and checking its files.
    """
    started = time.perf_counter()
    if config.postproc.subtitles == "word" and config.verify.enabled is False:
        raise PocketBatchError("--subtitles word takes its word times from verification: drop --no-verify")
    if config.postproc.readalong == "words" and config.verify.enabled is False:
        raise PocketBatchError("--readalong words takes its word times from verification: drop --no-verify")
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
                      m4b=folder / manifest.outputs.m4b, **_verification_counts(manifest))


def _verification_counts(manifest: Manifest) -> dict[str, int]:
    """A finished book's chunks verified, retaken and still flagged, as BookResult counts them."""
    check = manifest.verification
    if check is None:
        return {}
    return {"verified": check.verified, "regenerated": check.regenerated, "flagged": len(check.flagged)}


def produce(session: Session, books: list[Book], unreadable: list[tuple[Path, str]],
            show_progress: bool = True, log_path: Path | None = None) -> RunResult:
    """Synthesize and finish read books; the caller holds the output folder's lock."""
    config, started = session.config, time.perf_counter()
    if removed := remove_partial_files(config.output):
        log.info("removed %d partial files a killed run left behind", removed)
    results = [_fail(session, path, message) for path, message in unreadable]
    planned: list[tuple[Book, Work]] = []
    for book in books:
        if session.verifier and not session.verifies(book):
            book = replace(book, warnings=book.warnings + (
                f"not verified: {session.verifier.backend.name} does not hear {book.language!r}",))
        for warning in book.warnings:
            log.warning("%s: %s", book.source.name, warning)
        try:
            work = plan_work(book.chunks, session.cast, session.source, config.generation, session.cache)
        except Exception as exc:  # noqa: BLE001 - one book's failure is recorded; the others go on
            results.append(_fail(session, book.source, failure_line(book.source, exc)))
            continue
        write_book_state(session, book.source, book_dir(config, book), list(work.keys.values()))
        planned.append((book, work))
    works = [work for _, work in planned]
    summary = (f"{len(planned)} books, {sum(len(w.keys) for w in works)} chunks "
               f"({len({k for w in works for k in w.keys.values()})} distinct), "
               f"{len({t.key for w in works for t in w.tasks})} to synthesize with voice {session.voice.name}")
    log.info(summary)
    synthesized, failures, takes = synthesize_works(session, planned, show_progress, summary)
    results += [_finish_or_fail(session, book, work, failures, takes, show_progress) for book, work in planned]
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
                    takes: dict[str, Takes], show_progress: bool = False) -> BookResult:
    keys = list(work.keys.values())
    failed = {key: failures[key].reason for key in keys if key in failures}
    if failed:
        message = f"{book.source}: {len(failed)} chunks failed on every retry (last: {next(iter(failed.values()))})"
        return _fail(session, book.source, message, keys, failed)
    if session.verifies(book):
        audio = {chunk_id: takes[key].record(session.cache) for chunk_id, key in work.keys.items()}
    else:
        audio = collect(work, session.cache)
    stop.check()
    try:
        if show_progress:
            with EncodeProgress(book.source.name) as progress:
                manifest = finish_book(session, book, audio, work.params, progress.chapter)
        else:
            manifest = finish_book(session, book, audio, work.params)
    except OSError:
        raise  # a full disk or a read-only folder is not this book's fault: the run stops, in one line
    except Exception as exc:  # noqa: BLE001 - one book's failure is recorded; the others go on
        return _fail(session, book.source, failure_line(book.source, exc), keys)
    seconds = manifest.outputs.duration
    folder = book_dir(session.config, book)
    write_book_state(session, book.source, folder, keys, status=DONE, audio_seconds=seconds)
    log.info("done %s: %d chapters, %s of audio -> %s", book.source.name, len(manifest.chapters),
             clock(seconds), folder)
    counts = _verification_counts(manifest)
    if counts.get("flagged"):
        log.warning("%s: %d chunks still fail verification, listed in %s", book.source.name, counts["flagged"],
                    folder / "verify.json")
    return BookResult(book.source, folder, None, seconds, len(manifest.chapters), m4b=folder / manifest.outputs.m4b,
                      warnings=book.warnings, **counts)


def _fail(session: Session, source: Path, message: str, keys: list[str] | None = None,
          failed_chunks: dict[str, str] | None = None) -> BookResult:
    log.error("failed %s", message)
    write_book_state(session, source, book_dir(session.config, source), keys or [], status=FAILED, reason=message,
                 failed_chunks=failed_chunks or {})
    return BookResult(source, None, message)


def write_book_state(session: Session, source: Path, folder: Path, keys: list[str], **fields) -> None:
    digest = sha256_file(source) if source.is_file() else ""
    write_state(session.config.output, BookState(str(source), digest, session.settings, str(folder), keys=keys,
                                                 **fields))


def synthesize_works(session: Session, planned: list[tuple[Book, Work]], show_progress: bool = True,
                     summary: str = "") -> tuple[int, dict[str, SynthFailure], dict[str, Takes]]:
    """Every chunk the cache lacks, each distinct one once, then verification and retakes: how many
    were synthesized, which failed, and the verified chunks' takes by first key."""
    tasks = list({t.key: t for _, w in planned for t in w.tasks}.values())
    verified = {work.keys[c.id]: c for book, work in planned if session.verifies(book) for c in book.chunks}
    verifier = session.verifier if verified else None
    if verifier:
        verifier.listen_for([chunk.normalized for chunk in verified.values()])
    config = session.config
    with Synthesizer(config, session.cast.voices, session.cache, verifier, show_progress) as synth:
        failures = synth.run(tasks, summary)
        takes, retaken = {}, 0
        if verifier:
            plan = Retaking(session.cast, session.source, config.generation, session.cache)
            takes, retaken = verify_takes(synth, verifier, verified, plan, failures)
    return len(tasks) + retaken, failures, takes


def read_books(session: Session, inputs: tuple[Path, ...]) -> tuple[list[Book], list[tuple[Path, str]]]:
    """Every readable input; a bad one is reported and the others go on."""
    config, books, failed = session.config, [], []
    for path in inputs:
        try:
            book = read_book(path, session.source.count_tokens, config.generation.max_tokens, config.ingest,
                             session.source.language_code)
            book = select(book, config.ingest.chapters, config.ingest.preview)
            session.cast.add(book.chunks, session.source)  # a voice mark's voice is checked like the narrator's
        except Exception as exc:  # noqa: BLE001 - an unreadable book is reported; the others go on
            failed.append((path, failure_line(path, exc)))
            continue
        mismatch = session.source.language_warning(book.language)
        books.append(replace(book, warnings=book.warnings + (mismatch,)) if mismatch else book)
    return books, failed


def book_dir(config: RunConfig, book: Book | Path) -> Path:
    """The output folder itself for one input; a subfolder per input for several (or when asked)."""
    source = book.source if isinstance(book, Book) else book
    per_input = config.folder_per_input if config.folder_per_input is not None else len(config.inputs) > 1
    folder = inside(config.output, config.output / safe_name(source.stem, "book")) if per_input else config.output
    part = " ".join(filter(None, ["preview" if config.ingest.preview else "",
                                  f"chapters {config.ingest.chapters}" if config.ingest.chapters else ""]))
    return folder / safe_name(part, "part") if part else folder  # a part never overwrites the whole book's outputs


def finish_book(session: Session, book: Book, audio: dict[str, ChunkAudio], params: dict,
                on_chapter: OnChapter | None = None, keep: frozenset[int] = frozenset(),
                redone: tuple[RedoneChunk, ...] = ()) -> Manifest:
    """Post-processing, the manifest, the verification report and the review page, once every chunk of the
    book (`audio`, by chunk id) is in the cache; chapters in `keep` have their files already (see `redo`)."""
    config, source, voice = session.config, session.source, session.voice
    folder = book_dir(config, book)
    folder.mkdir(parents=True, exist_ok=True)
    cache = session.cache
    voice_info = voice.provenance | {"kind": voice.kind, "name": voice.name, "fingerprint": voice.fingerprint}
    result = assemble(book, audio, Assembly(cache, folder, config.postproc, book_tags(book, voice.name), on_chapter),
                      keep)
    model = {"config": str(source.config_path), "fingerprint": source.fingerprint,
             "quantize": config.model.quantize, "numerics": config.model.numerics, "params": params}
    preset = PRESETS[config.postproc.loudness]
    verifier = session.verifier if session.verifies(book) else None
    readalong = _readalong(book, result, config.postproc, voice.name)
    if verifier:
        write_verify_report(folder / "verify.json", result, verifier.store.root.name)
    else:
        (folder / "verify.json").unlink(missing_ok=True)  # a report of an earlier, verified render
    manifest = write_manifest(folder / "manifest.json", book, result, config=config.model_dump(mode="json"),
                              model=model, voice=voice_info,
                              loudness={"preset": config.postproc.loudness} | preset.model_dump(),
                              verifier=verifier.store.root.name if verifier else None, readalong=readalong,
                              redone=list(redone))
    write_book_report(folder / "report.html", manifest, cache)
    return manifest


def _readalong(book: Book, result: Audiobook, options: PostprocOptions, narrator: str) -> ReadAlong | None:
    """The read-along EPUB when asked for; otherwise one an earlier render left is removed."""
    target = result.m4b.with_name(f"{result.m4b.stem}.readalong.epub")
    if options.readalong == "off":
        target.unlink(missing_ok=True)
        return None
    readalong = write_readalong(book, result, target, options, f"Pocket TTS, voice {narrator} (synthetic speech)",
                                by_word=options.readalong == "words")
    for warning in readalong.warnings:
        log.warning("%s: %s", book.source.name, warning)
    if options.readalong == "words" and readalong.granularity != "words":
        log.warning("%s: no word timings (not verified): the read-along book highlights sentences", book.source.name)
    if readalong.not_placed:
        log.info("%s: %d chunks read aloud are not in the text, so not highlighted (listed in the manifest)",
                 book.source.name, len(readalong.not_placed))
    return readalong


def book_tags(book: Book, narrator: str) -> dict[str, str]:
    year = (book.date or "")[:4]
    return {"title": book.title, "album": book.title, "artist": book.author or "", "album_artist": book.author or "",
            "composer": f"Pocket TTS \u2014 {narrator}", "genre": "Audiobook", "date": year if year.isdigit() else "",
            "comment": SYNTHETIC}

