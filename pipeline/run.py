"""A run's spine: read → plan → synthesize and check → finish, driven the same way by every entry point.

`render`, a job's run, `redo` and `bench postproc` each make a `Run` and differ only in what they
select and what they keep. Every input and the voice are checked before anything is written; the
executor (and with it Ray) starts only when some chunk is not in the cache yet. A book that fails —
unreadable, chunks failing on every retry, post-processing — is reported and the others go on.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pocket_batch.core.cpu import Cpu
from pocket_batch.core.config import SAMPLE_RATE, RunConfig
from pocket_batch.core.errors import ExitCode, PocketBatchError, one_line, os_error_line
from pocket_batch.core.files import sha256_file, sha256_json
from pocket_batch.core.layout import OutputLayout, inside, safe_name
from pocket_batch.core.measure import clock
from pocket_batch.core.records import Book, Chunk, ChunkAudio
from pocket_batch.postproc.manifest import Manifest, RedoneChunk
from pocket_batch.ingest.book import check_input, read_book
from pocket_batch.ingest.selection import select
from pocket_batch.pipeline import stop
from pocket_batch.pipeline.finish import finish_book
from pocket_batch.pipeline.lock import output_lock, remove_partial_files
from pocket_batch.pipeline.progress import EncodeProgress
from pocket_batch.pipeline.runlog import log, run_log
from pocket_batch.pipeline.state import DONE, FAILED, BookState, finished_manifest, write_state
from pocket_batch.pipeline.synthesizer import Synthesizer
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Cast, resolve_voice
from pocket_batch.synth.pool.worker import SynthFailure, SynthTask
from pocket_batch.synth.work import Work, collect, plan_work
from pocket_batch.verify.backends import check_backend, hears
from pocket_batch.verify.retakes import Takes, verify_takes
from pocket_batch.verify.verifier import Verifier


@dataclass(frozen=True)
class BookResult:
    source: Path
    folder: Path | None = None
    error: str | None = None  # one line naming the input and what went wrong
    audio_seconds: float = 0.0
    chapters: int = 0
    already: bool = False  # finished by an earlier run; nothing was done
    m4b: Path | None = None  # the book's audiobook; its chapters, subtitles, manifest and report are beside it
    readalong: Path | None = None  # the read-along EPUB, when one was asked for
    warnings: tuple[str, ...] = ()
    verified: int = 0  # chunks heard by the recognizer
    regenerated: int = 0  # chunks taken again after failing verification
    flagged: int = 0  # chunks that still fail verification (kept, and listed in verify.json)
    unverified: int = 0  # chunks whose words the recognizer could not check, nothing else flagged


@dataclass(frozen=True)
class RunResult:
    books: list[BookResult]
    synthesized: int  # chunks synthesized by this run (0 when all were cached)
    wall_seconds: float
    log: Path | None = None
    notes: tuple[str, ...] = ()  # what the user should know about the run as a whole, said once

    @property
    def failed(self) -> list[BookResult]:
        return [b for b in self.books if b.error]

    @property
    def flagged(self) -> int:
        """Chunks, over every book, that still fail verification."""
        return sum(b.flagged for b in self.books)

    @property
    def exit_code(self) -> ExitCode:
        if self.failed:
            return ExitCode.SOME_FAILED
        if self.flagged:
            return ExitCode.FLAGGED
        return ExitCode.UNVERIFIED if any(b.unverified for b in self.books) else ExitCode.DONE


@dataclass(frozen=True)
class Planned:
    """A read book and its work: every chunk's key, and the tasks the cache lacks."""

    book: Book
    work: Work


@dataclass(frozen=True)
class Synthesized:
    count: int  # chunks synthesized, retakes included
    failures: dict[str, SynthFailure]  # by key: failed on every retry
    takes: dict[str, Takes]  # verified chunks' takes, by first key


class Run:
    """A run's model, voices and settings, resolved once; its stages are the methods below, in order."""

    def __init__(self, config: RunConfig, show_progress: bool = True):
        config = config.on(Cpu.this())  # the decoder's formats, settled once for every worker and the cache key
        self.config, self.show_progress = config, show_progress
        self.source = ModelSource(config.model)
        self.voice = resolve_voice(config.voice, self.source, config.consent)
        self.settings = settings_hash(config, self.source, self.voice)
        self.source.tokenizer  # noqa: B018 - every book needs it: an unreachable model stops the run here, once
        self.layout = OutputLayout(config.output)
        self.verifying, self.notes = config.verify.enabled is not False, ()
        if self.source.speaks_noise and self.verifying:  # said once, before the retakes it explains
            self.notes = (f"{self.source.config_path} is pocket-batch's random model: its noise cannot pass the "
                          f"checks, so every chunk is taken {config.verify.retries + 1} times and flagged; "
                          "--no-verify tries the pipeline without them",)
            log.warning(self.notes[0])
        if self.verifying:
            check_backend(config.verify)  # a recognizer that cannot run here stops the run before anything is written
        self.cast = Cast(self.voice)
        for spec in dict.fromkeys(filter(None, [config.ingest.dialogue_voice, *config.ingest.characters.values()])):
            self.cast.others[spec] = resolve_voice(spec, self.source)  # every voice of the map checked before writing
        self.cache = AudioCache(self.layout.cache)  # one per run: each entry's content is checked once, when first used
        self.verifier: Verifier | None = None  # built when the run knows what it will hear

    def verifies(self, book: Book) -> bool:
        return self.verifying and hears(self.config.verify, book.language)

    def book_dir(self, book: Book | Path) -> Path:
        return book_dir(self.config, book)

    # --- the whole run, for `render`

    def render(self) -> RunResult:
        """Read every input first (a bad one writes nothing), then produce under the output's lock.

        An input whose outputs are finished for these bytes and settings is not read again: a rerun
        of a finished book takes the time of hashing its input and checking its files.
        """
        started = time.perf_counter()
        finished = [self.finished(path) for path in self.config.inputs]
        pending = tuple(path for path, done in zip(self.config.inputs, finished) if done is None)
        finished = [done for done in finished if done is not None]
        if not pending:
            return RunResult(finished, 0, time.perf_counter() - started, notes=self.notes)
        books, failed = self.read(pending)
        if not books:
            raise PocketBatchError("; ".join(message for _, message in failed))
        with output_lock(self.config.output), run_log(self.config.output) as log_path:
            result = self.produce(books, failed, log_path)
        return replace(result, books=finished + result.books)

    def produce(self, books: list[Book], unreadable: list[tuple[Path, str]], log_path: Path | None = None) -> RunResult:
        """Plan, synthesize and check, and finish read books; the caller holds the output folder's lock."""
        started = time.perf_counter()
        if removed := remove_partial_files(self.config.output):
            log.info("removed %d partial files a killed run left behind", removed)
        results = [self._fail(path, message) for path, message in unreadable]
        planned, failed = self.plan(books)
        synthesized = self.synthesize(planned)
        results += failed + [self.finish(p, synthesized) for p in planned]
        return RunResult(results, synthesized.count, time.perf_counter() - started, log_path, self.notes)

    # --- read

    def finished(self, source: Path) -> BookResult | None:
        """The outcome of an input finished earlier with these bytes and settings, or None if it has work left."""
        if not source.is_file():
            return None
        manifest = finished_manifest(self.config.output, source, sha256_file(source), self.settings)
        if manifest is None:
            return None
        folder = self.book_dir(source)
        return BookResult(source, folder, None, manifest.outputs.duration, len(manifest.chapters), already=True,
                          **book_outputs(folder, manifest), **verification_counts(manifest))

    def read(self, inputs: tuple[Path, ...]) -> tuple[list[Book], list[tuple[Path, str]]]:
        """Every readable input, cut to the chapters asked for; a bad one is reported and the others go on."""
        config, books, failed = self.config, [], []
        for path in inputs:
            try:
                book = read_book(path, self.source.count_tokens, config.generation.max_tokens, config.ingest,
                                 self.source.language_code)
                book = select(book, config.ingest.chapters, config.ingest.preview)
                self.cast.add(book.chunks, self.source)  # a voice mark's voice is checked like the narrator's
            except Exception as exc:  # noqa: BLE001 - an unreadable book is reported; the others go on
                failed.append((path, failure_line(path, exc)))
                continue
            mismatch = self.source.language_warning(book.language)
            books.append(replace(book, warnings=book.warnings + (mismatch,)) if mismatch else book)
        return books, failed

    # --- plan

    def plan(self, books: list[Book]) -> tuple[list[Planned], list[BookResult]]:
        """Each book's chunk keys (written to its state, so `status` sees it) and the tasks the cache lacks."""
        planned, failed = [], []
        for book in books:
            if self.verifying and not self.verifies(book):
                book = replace(book, warnings=book.warnings + (
                    f"not verified: {self.config.verify.backend} does not hear {book.language!r}",))
            for warning in book.warnings:
                log.warning("%s: %s", book.source.name, warning)
            try:
                work = self.plan_chunks(book.chunks)
            except Exception as exc:  # noqa: BLE001 - one book's failure is recorded; the others go on
                failed.append(self._fail(book.source, failure_line(book.source, exc)))
                continue
            self._write_state(book.source, self.book_dir(book), list(work.keys.values()))
            planned.append(Planned(book, work))
        return planned, failed

    def plan_chunks(self, chunks: list[Chunk], attempt: int = 0, generation=None) -> Work:
        """`attempt` > 0 asks for another take (another key, so another seed); `generation` overrides the run's."""
        return plan_work(chunks, self.cast, self.source, generation or self.config.generation, self.cache, attempt)

    # --- synthesize and check

    def synthesizer(self, verifier: Verifier | None = None) -> Synthesizer:
        return Synthesizer(self.config, self.cast.voices, self.cache, verifier, self.show_progress)

    def hear(self, texts: list[str]) -> Verifier:
        """The run's recognizer, listening for these texts; finishing reports its verdicts."""
        self.verifier = Verifier(self.config.verify, self.layout.verdicts, texts)
        return self.verifier

    def synthesize(self, planned: list[Planned]) -> Synthesized:
        """Every chunk the cache lacks, each distinct one once, then verification and retakes."""
        works = [p.work for p in planned]
        tasks = list({t.key: t for w in works for t in w.tasks}.values())
        summary = (f"{len(planned)} books, {sum(len(w.keys) for w in works)} chunks "
                   f"({len({k for w in works for k in w.keys.values()})} distinct), "
                   f"{len(tasks)} to synthesize with voice {self.voice.name}")
        log.info(summary)
        verified = {p.work.keys[c.id]: c for p in planned if self.verifies(p.book) for c in p.book.chunks}
        verifier = self.hear([chunk.normalized for chunk in verified.values()]) if verified else None
        with self.synthesizer(verifier) as synth:
            failures = synth.run(tasks, summary)
            takes, retaken = {}, 0
            if verifier:
                first = {key: (chunk, self.cast.of(chunk).name) for key, chunk in verified.items() if key not in failures}
                takes, gates, retaken = verify_takes(verifier, first, lambda todo, n: self._retake(synth, todo, n),
                                                     self.cache.read, self._references(verifier))
                for note in gates.notes(verifier.backend.name if verifier.backend else ""):
                    log.warning(note)
                    self.notes += (note,)
        return Synthesized(len(tasks) + retaken, failures, takes)

    def _references(self, verifier: Verifier) -> dict[str, np.ndarray]:
        """What each cloned voice should sound like: its sample's speaker embedding (a preset's is its takes')."""
        if "voice" not in verifier.options.checks:
            return {}
        from pocket_batch.verify.speaker import embed

        voices = [self.cast.narrator, *self.cast.others.values()]
        return {v.name: embed(v.audio, SAMPLE_RATE) for v in voices if v.kind == "clone" and v.audio is not None}

    def _retake(self, synth: Synthesizer, todo: list[Takes], attempt: int) -> int:
        """Take `attempt` of each chunk: its key appended to its takes, unless it failed every retry."""
        tasks: dict[str, SynthTask] = {}
        for t in todo:
            work = self.plan_chunks([t.chunk], attempt)
            t.keys.append(work.keys[t.chunk.id])
            tasks.update({task.key: task for task in work.tasks})
        failed = synth.run(list(tasks.values()), f"take {attempt + 1}: {len(todo)} chunks failed verification, "
                                                 f"{len(tasks)} to synthesize again")
        for t in todo:
            if t.keys[-1] in failed:
                t.keys.pop()
        return len(tasks)

    # --- finish

    def finish(self, planned: Planned, synthesized: Synthesized) -> BookResult:
        """One book's outputs once all its chunks are in the cache, or its failure recorded."""
        book, work = planned.book, planned.work
        keys = list(work.keys.values())
        failed = {key: synthesized.failures[key].reason for key in keys if key in synthesized.failures}
        if failed:
            message = f"{book.source}: {len(failed)} chunks failed on every retry (last: {next(iter(failed.values()))})"
            return self._fail(book.source, message, keys, failed)
        if self.verifies(book):
            audio = {chunk_id: self._kept(synthesized.takes[key]) for chunk_id, key in work.keys.items()}
        else:
            audio = collect(work, self.cache)
        stop.check()
        try:
            manifest = self.finish_book(book, audio, work.params, keys)
        except OSError:
            raise  # a full disk or a read-only folder is not this book's fault: the run stops, in one line
        except Exception as exc:  # noqa: BLE001 - one book's failure is recorded; the others go on
            return self._fail(book.source, failure_line(book.source, exc), keys)
        folder, seconds = self.book_dir(book), manifest.outputs.duration
        log.info("done %s: %d chapters, %s of audio -> %s", book.source.name, len(manifest.chapters),
                 clock(seconds), folder)
        counts = verification_counts(manifest)
        if counts.get("flagged"):
            log.warning("%s: %d chunks still fail verification, listed in %s", book.source.name, counts["flagged"],
                        folder / "verify.json")
        return BookResult(book.source, folder, None, seconds, len(manifest.chapters),
                          warnings=book.warnings, **book_outputs(folder, manifest), **counts)

    def finish_book(self, book: Book, audio: dict[str, ChunkAudio], params: dict, keys: list[str] | None = None,
                    keep: frozenset[int] = frozenset(), redone: tuple[RedoneChunk, ...] = (),
                    into: Path | None = None) -> Manifest:
        """Every output of the book, and its state marked done with `keys` (by default the manifest's);
        chapters in `keep` have their files already, and `into` is a stage the outputs are made in (see `redo`)."""
        verifier = self.verifier if self.verifies(book) else None
        folder = self.book_dir(book)
        with EncodeProgress(book.source.name) if self.show_progress else contextlib.nullcontext() as progress:
            others = {c.voice: self.cast.others[c.voice] for c in book.chunks if c.voice}
            manifest = finish_book(self.config, self.source, self.voice, others, self.cache, book, into or folder, audio,
                                   params, verifier.store.root.name if verifier else None,
                                   progress.chapter if progress else None, keep, redone)
        keys = keys if keys is not None else [c.key for ch in manifest.chapters for c in ch.chunks]
        self._write_state(book.source, folder, keys, status=DONE, audio_seconds=manifest.outputs.duration)
        return manifest

    def _kept(self, takes: Takes) -> ChunkAudio:
        """The kept take's audio record, carrying its verdict and every take."""
        return replace(self.cache.get(takes.kept_key), verdict=takes.kept_verdict, takes=takes.all)

    def _fail(self, source: Path, message: str, keys: list[str] | None = None,
              failed_chunks: dict[str, str] | None = None) -> BookResult:
        log.error("failed %s", message)
        self._write_state(source, self.book_dir(source), keys or [], status=FAILED, reason=message,
                          failed_chunks=failed_chunks or {})
        return BookResult(source, None, message)

    def _write_state(self, source: Path, folder: Path, keys: list[str], **fields) -> None:
        digest = sha256_file(source) if source.is_file() else ""
        folder = os.path.relpath(folder, self.config.output)
        write_state(self.config.output, BookState(str(source), digest, self.settings, folder, keys=keys, **fields))


def render(config: RunConfig, show_progress: bool = True) -> RunResult:
    for path in config.inputs:  # before a model loads or Ray starts
        check_input(path)
    for path, owner in folder_clashes(config, config.inputs):
        raise PocketBatchError(f"{path}: would write to the same folder as {owner} ({book_dir(config, path)}); "
                               "rename one, or render them one at a time with -o")
    if config.postproc.subtitles == "word" and config.verify.enabled is False:
        raise PocketBatchError("--subtitles word takes its word times from verification: drop --no-verify")
    if config.postproc.readalong == "words" and config.verify.enabled is False:
        raise PocketBatchError("--readalong words takes its word times from verification: drop --no-verify")
    return Run(config, show_progress).render()


def settings_hash(config: RunConfig, source: ModelSource, voice) -> str:
    """Every setting that changes a book's outputs: a finished book with other settings renders again."""
    return sha256_json({"voice": voice.fingerprint, "model": source.fingerprint,
                        **config.model_dump(mode="json", include={"ingest", "generation", "postproc", "verify"})})


def book_outputs(folder: Path, manifest: Manifest) -> dict[str, Path | None]:
    return {"m4b": folder / manifest.outputs.m4b,
            "readalong": folder / manifest.readalong.file if manifest.readalong else None}


def verification_counts(manifest: Manifest) -> dict[str, int]:
    """A finished book's chunks verified, retaken and still flagged, as BookResult counts them."""
    check = manifest.verification
    if check is None:
        return {}
    return {"verified": check.verified, "regenerated": check.regenerated, "flagged": len(check.flagged),
            "unverified": len(check.unverified)}


def failure_line(source: Path, exc: Exception) -> str:
    """One line naming the input and what went wrong; the traceback goes to the run's log."""
    if isinstance(exc, PocketBatchError):
        return str(exc)
    if isinstance(exc, OSError):
        return os_error_line(exc) if exc.filename else f"{source}: {os_error_line(exc)}"
    log.error("%s failed", source, exc_info=exc)
    return f"{source}: {one_line(exc)}"


def folder_clashes(config: RunConfig, inputs) -> list[tuple[Path, Path]]:
    """(input, the earlier input) for each input whose book folder an earlier input already has, so that
    no book overwrites another; an input named twice clashes with itself."""
    owners: dict[Path, Path] = {}
    clashes = []
    for path in inputs:
        owner = owners.setdefault(book_dir(config, path), path)
        if owner is not path:
            clashes.append((path, owner))
    return clashes


def book_dir(config: RunConfig, book: Book | Path) -> Path:
    """The output folder itself for one input; a subfolder per input for several (or when asked)."""
    source = book.source if isinstance(book, Book) else book
    per_input = config.folder_per_input if config.folder_per_input is not None else len(config.inputs) > 1
    folder = inside(config.output, config.output / safe_name(source.stem, "book")) if per_input else config.output
    part = " ".join(filter(None, ["preview" if config.ingest.preview else "",
                                  f"chapters {config.ingest.chapters}" if config.ingest.chapters else ""]))
    return folder / safe_name(part, "part") if part else folder  # a part never overwrites the whole book's outputs
