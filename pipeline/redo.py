"""`redo`: the chunks a person rejected, made again with a new seed, and only what holds them rebuilt.

The book is read again from its source (which must be the bytes that were rendered), every
other chunk keeps the take the manifest names, and the chapters without a redone chunk keep
their files. The M4B, subtitles, read-along book, manifest and review page are written again into
a stage inside the book's folder and published together once every one is made: a redo that fails
leaves the book as it was, never new audio under an old manifest. The manifest lists every redo
with the key it replaced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from pocket_batch.core.config import RunConfig
from pocket_batch.core.cpu import Cpu
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import SCRATCH_PREFIX, link_file, sha256_file
from pocket_batch.core.layout import OutputLayout
from pocket_batch.core.records import Book, ChunkAudio, Take
from pocket_batch.postproc.manifest import MANIFEST, ChunkEntry, Manifest, RedoneChunk, read_manifest
from pocket_batch.pipeline.lock import output_lock
from pocket_batch.pipeline.run import Run
from pocket_batch.pipeline.runlog import log, run_log
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.work import generation_params
from pocket_batch.verify.store import VerdictStore


@dataclass(frozen=True)
class RedoResult:
    folder: Path
    redone: list[RedoneChunk]
    flags: dict[str, list[str]]  # chunk id -> what is still wrong with its new take (empty: nothing)
    chapters: list[int]  # chapters whose files were written again
    synthesized: int
    wall_seconds: float


def output_root(folder: Path) -> Path:
    """The output folder a book's folder belongs to (itself, or its parent for one of several inputs), wherever
    it has been moved since."""
    for root in (folder, folder.parent):
        if OutputLayout.is_output(root):
            return root
    raise PocketBatchError(f"{folder}: not in a pocket-batch output folder (no {OutputLayout(folder).state.name}/)")


def chosen_chunks(manifest: Manifest, ids: list[str], flagged: bool, folder: Path) -> list[str]:
    """The ids asked for (checked against the manifest), and with `flagged` every chunk still flagged."""
    known = {c.id for ch in manifest.chapters for c in ch.chunks}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise PocketBatchError(f"{folder / MANIFEST}: no chunk {', '.join(unknown[:5])} in this book "
                               f"(ids look like {next(iter(sorted(known)))})")
    if flagged:
        ids = ids + [c.id for ch in manifest.chapters for c in ch.chunks if c.problems()]
    chosen = list(dict.fromkeys(ids))
    if not chosen:
        raise PocketBatchError(f"{folder}: nothing to redo (name chunks with --chunk; none is flagged)")
    return chosen


def redo(folder: Path, ids: list[str], flagged: bool = False, seed: int | None = None, workers: int | None = 0,
         show_progress: bool = True) -> RedoResult:
    started = time.perf_counter()
    manifest = read_manifest(folder)
    chosen = chosen_chunks(manifest, ids, flagged, folder)
    run = Run(_render_config(manifest, folder, workers), show_progress)
    _same_as_rendered(run, manifest, folder)
    book = _book(run, manifest)
    with output_lock(run.config.output), run_log(run.config.output):
        audio = _kept_audio(run, manifest, folder)
        entries = {c.id: c for ch in manifest.chapters for c in ch.chunks}
        fresh, synthesized = _new_takes(run, book, [entries[i] for i in chosen], seed, manifest, audio)
        audio |= {chunk_id: take for chunk_id, (take, _) in fresh.items()}
        redone = tuple(manifest.redone) + tuple(record for _, record in fresh.values())
        touched = {c.chapter for c in book.chunks if c.id in fresh}
        keep = frozenset(ch.index for ch in book.chapters) - touched
        with staged(folder) as stage:
            manifest = run.finish_book(book, audio, manifest.model["params"], keep=keep, redone=redone, into=stage)
    log.info("redo %s: %d chunks, chapters %s written again", folder, len(fresh), sorted(touched))
    flags = {chunk_id: (list(take.verdict.flags) if take.verdict else []) + (["max length reached"] * take.max_length)
             for chunk_id, (take, _) in fresh.items()}
    return RedoResult(folder, [record for _, record in fresh.values()], flags, sorted(touched), synthesized,
                      time.perf_counter() - started)


@contextlib.contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """A stage for a book's outputs, holding its chapter files as they are (linked); on success every file in it
    replaces its namesake in `folder`, the manifest last. On failure the stage goes and `folder` is untouched."""
    stage = Path(tempfile.mkdtemp(dir=folder, prefix=f"{SCRATCH_PREFIX}redo-"))
    try:
        for kept in sorted((folder / "chapters").glob("*")):
            if kept.is_file() and not kept.is_symlink():
                link_file(kept, stage / "chapters" / kept.name)
        yield stage
        made = sorted((p for p in stage.rglob("*") if p.is_file()), key=lambda p: (p.name == MANIFEST, str(p)))
        for path in made:
            target = folder / path.relative_to(stage)
            target.parent.mkdir(exist_ok=True)
            os.replace(path, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _render_config(manifest: Manifest, folder: Path, workers: int | None) -> RunConfig:
    """The render's settings, from a file anyone who can write to the folder can edit: nothing named in it
    runs (ffmpeg is this install's, and no cluster is joined that this command does not name), and its model
    must have the fingerprint the render recorded before anything of it is loaded."""
    config = RunConfig.model_validate(manifest.config).on(Cpu.this())
    config = config.model_copy(update={"output": output_root(folder), "address": None,
                                       "workers": workers if workers is not None else config.workers,
                                       "postproc": config.postproc.model_copy(update={"ffmpeg": None})})
    if ModelSource(config.model).fingerprint != manifest.model.get("fingerprint"):
        raise PocketBatchError(f"{folder}: the model is not the one this book was rendered with; render it again")
    return config


def _same_as_rendered(run: Run, manifest: Manifest, folder: Path) -> None:
    """A redo uses the render's model and voice, or its takes would not belong to the book."""
    if run.source.fingerprint != manifest.model.get("fingerprint"):
        raise PocketBatchError(f"{folder}: the model is not the one this book was rendered with; render it again")
    if run.voice.fingerprint != manifest.voice.get("fingerprint"):
        raise PocketBatchError(f"{folder}: the voice is not the one this book was rendered with; render it again")


def _book(run: Run, manifest: Manifest) -> Book:
    """The book as it was rendered: the same bytes, read and cut to the same chapters."""
    source = Path(manifest.book.source)
    if not source.is_file() or sha256_file(source) != manifest.book.sha256:
        raise PocketBatchError(f"{source}: not the file this book was rendered from (missing or changed); render it again")
    [book], unreadable = run.read((source,))
    if unreadable:
        raise PocketBatchError(unreadable[0][1])
    return book


def _kept_audio(run: Run, manifest: Manifest, folder: Path) -> dict[str, ChunkAudio]:
    """Every chunk's take as the manifest names it, with its verdict and takes where it was verified."""
    store = VerdictStore(run.layout.verdicts, manifest.verification.verifier) if manifest.verification else None
    audio = {}
    for chapter in manifest.chapters:
        for entry in chapter.chunks:
            record = run.cache.get(entry.key)
            if record is None:
                raise PocketBatchError(f"{folder}: the audio of chunk {entry.id} is not in the cache; render the book again")
            if entry.verify and store:
                takes = tuple(Take(t.attempt, t.key, v) for t in entry.verify.takes if (v := store.get(t.key)))
                record = replace(record, verdict=store.get(entry.key), takes=takes)
            audio[entry.id] = record
    return audio


def _new_takes(run: Run, book: Book, entries: list[ChunkEntry], seed: int | None, manifest: Manifest,
               kept: dict[str, ChunkAudio]) -> tuple[dict[str, tuple[ChunkAudio, RedoneChunk]], int]:
    """A new take of each chunk, heard when the book was verified: by chunk id, its audio and the redo's record."""
    generation = run.config.generation if seed is None else run.config.generation.model_copy(update={"seed": seed})
    chunks = {c.id: c for c in book.chunks}
    used = {e.id: {t.key for t in (e.verify.takes if e.verify else [])} | {e.key} for e in entries}
    for r in manifest.redone:
        used.setdefault(r.id, set()).update({r.previous_key, r.key})
    plans, tasks = {}, {}
    for entry in entries:
        attempt = 0 if seed is not None else 1
        while True:
            work = run.plan_chunks([chunks[entry.id]], attempt, generation)
            if work.keys[entry.id] not in used[entry.id]:
                break
            if seed is not None:
                raise PocketBatchError(f"{entry.id}: --seed {seed} makes the take it has; choose another seed")
            attempt += 1
        plans[entry.id] = (work.keys[entry.id], attempt)
        tasks.update({t.key: t for t in work.tasks})
    verifier = run.hear([c.normalized for c in book.chunks]) if run.verifies(book) and manifest.verification else None
    with run.synthesizer(verifier) as synth:
        failures = synth.run(list(tasks.values()), f"redo: {len(entries)} chunks, {len(tasks)} to synthesize")
    if failures:
        raise PocketBatchError(f"{book.source}: {len(failures)} chunks failed on every retry "
                               f"(last: {next(iter(failures.values())).reason}); nothing was changed")
    fresh = {}
    params_seed = generation_params(run.source, generation)["seed"]
    for entry in entries:
        key, attempt = plans[entry.id]
        record = run.cache.get(key)
        if verifier:
            verdict = verifier.verdict(key, chunks[entry.id].normalized, run.cache.read)
            record = replace(record, verdict=verdict, takes=kept[entry.id].takes + (Take(attempt, key, verdict),))
        fresh[entry.id] = (record, RedoneChunk(id=entry.id, previous_key=entry.key, key=key, attempt=attempt,
                                               seed=params_seed))
    return fresh, len(tasks)
