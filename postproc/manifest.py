"""The manifest: inputs, model, voice and consent, every chapter and chunk as placed in the outputs."""

from __future__ import annotations

import platform
from importlib.metadata import version
from pathlib import Path

from pocket_batch.core.config import SAMPLE_RATE, SYNTHETIC
from pocket_batch.core.files import sha256_file
from pocket_batch.core.records import Book
from pocket_batch.core.reports import (BookEntry, ChapterEntry, ChunkCheck, ChunkEntry, Manifest, OutputFile, Outputs,
                                       ReadAlongEntry, Skipped, SyntheticSpeech, TakeEntry, Verification, WordEntry,
                                       not_read)
from pocket_batch.postproc.audiobook import Audiobook, ChapterResult
from pocket_batch.postproc.placement import PlacedChunk
from pocket_batch.postproc.readalong.build import ReadAlong


def software_versions() -> dict:
    names = ("pocket-batch", "pocket-tts", "torch", "ray", "numpy", "soundfile", "pyloudnorm", "imageio-ffmpeg",
             "pocketsphinx")
    return {"python": platform.python_version()} | {n: version(n) for n in names}


def seconds(samples: int) -> float:
    return round(samples / SAMPLE_RATE, 3)


def write_manifest(target: Path, book: Book, result: Audiobook, *, config: dict, model: dict, voice: dict,
                   loudness: dict, verifier: str | None = None, readalong: ReadAlong | None = None,
                   redone: list | None = None) -> Manifest:
    out = target.parent
    placed = [p for c in result.chapters for p in c.placement.chunks]
    verification = None
    if verifier:
        verification = Verification(verifier=verifier, verified=sum(p.audio.verdict is not None for p in placed),
                                    regenerated=sum(len(p.audio.takes) > 1 for p in placed),
                                    flagged=[p.chunk.id for p in placed if p.audio.verdict and not p.audio.verdict.passed])
    manifest = Manifest(
        synthetic_speech=SyntheticSpeech(ai_generated=True, statement=SYNTHETIC),
        book=BookEntry(source=str(book.source), sha256=sha256_file(book.source), title=book.title,
                       author=book.author, language=book.language, date=book.date,
                       skipped=[Skipped(title=t, why=why) for t, why in book.skipped], words_read=book.words_read,
                       words_not_read=book.words_not_read, not_read=not_read(book.omitted),
                       warnings=list(book.warnings)),
        outputs=Outputs(m4b=result.m4b.name, srt=result.subtitles[0].name, vtt=result.subtitles[1].name,
                        sample_rate=SAMPLE_RATE, samples=result.samples, duration=seconds(result.samples),
                        chunks=sum(len(c.placement.chunks) for c in result.chapters),
                        distinct_chunks=len({p.audio.key for c in result.chapters for p in c.placement.chunks})),
        loudness=loudness, config=config, model=model, voice=voice, software=software_versions(),
        chapters=[_chapter(c, out) for c in result.chapters],
        max_length_chunks=[p.chunk.id for c in result.chapters for p in c.placement.chunks if p.audio.max_length],
        files=[_file(path, out) for path in (result.m4b, *result.subtitles, *(c.file for c in result.chapters),
                                             *([readalong.path] if readalong else []))],
        verification=verification,
        readalong=ReadAlongEntry(file=readalong.path.name, granularity=readalong.granularity, overlays=readalong.overlays,
                                 placed=readalong.placed, not_placed=list(readalong.not_placed)) if readalong else None,
        redone=redone or [],
    )
    manifest.write(target)
    return manifest


def _file(path: Path, out: Path) -> OutputFile:
    return OutputFile(path=str(path.relative_to(out)), bytes=path.stat().st_size, sha256=sha256_file(path))


def _chapter(c: ChapterResult, out: Path) -> ChapterEntry:
    placement = c.placement
    return ChapterEntry(
        index=placement.chapter.index, title=placement.chapter.title, file=str(c.file.relative_to(out)),
        start=seconds(c.start), end=seconds(c.start + placement.samples), start_sample=c.start,
        samples=placement.samples, loudness=c.loudness, true_peak=c.true_peak, gain_db=c.gain_db,
        level_curve=list(c.curve),
        chunks=[ChunkEntry(
            id=p.chunk.id, text=p.chunk.text, normalized=p.chunk.normalized, boundary=p.chunk.boundary.value,
            key=p.audio.key, offset=c.start + p.offset, samples=p.samples, start=seconds(c.start + p.offset),
            duration=seconds(p.samples), gain_db=round(p.gain_db, 2), max_length=p.audio.max_length,
            worker=p.audio.worker, wall_seconds=p.audio.wall_seconds, verify=_check(p, c.start),
            voice=p.chunk.voice, role=p.chunk.role,
        ) for p in placement.chunks],
    )


def _check(p: PlacedChunk, chapter_start: int) -> ChunkCheck | None:
    verdict = p.audio.verdict
    if verdict is None:
        return None
    return ChunkCheck(
        passed=verdict.passed, transcript=verdict.transcript, wer=verdict.wer, misfit=verdict.misfit,
        flags=list(verdict.flags),
        takes=[TakeEntry(attempt=t.attempt, key=t.key, wer=t.verdict.wer, flags=list(t.verdict.flags))
               for t in p.audio.takes],
        words=[WordEntry(word=w, start=chapter_start + s, end=chapter_start + e) for w, s, e in p.words()])
