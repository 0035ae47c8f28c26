"""The manifest: inputs, model, voice and consent, every chapter and chunk as placed in the outputs.

This module owns it: its schema (versioned), its writer, and its readers, which every part that
reads a manifest (resume, `status`, `redo`, pruning, the report) goes through.
"""

from __future__ import annotations

import platform
from importlib.metadata import version
from pathlib import Path

from pocket_batch.core.config import SAMPLE_RATE, SYNTHETIC
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import read_record, sha256_file, write_record
from pocket_batch.core.records import Book
from pocket_batch.core.reports import NotRead, Record, Skipped, not_read
from pocket_batch.postproc.audiobook import Audiobook, ChapterResult
from pocket_batch.postproc.placement import PlacedChunk
from pocket_batch.postproc.readalong.build import ReadAlong


MANIFEST_VERSION = 7  # 2: what is not read, by kind; every output file with its size and hash. 3: verification.
# 4: the read-along book. 5: every other voice the text names, with its provenance. 6: the quality gates' scores,
# statuses and the chunks whose words could not be verified. 7: where each print page begins in the audio.


class WordEntry(Record):
    """A verified word, in samples of the whole book (the chapter's start_sample is its origin in its file)."""

    word: str
    start: int
    end: int


class TakeEntry(Record):
    attempt: int  # 0, then each regeneration with a new seed
    key: str
    wer: float
    flags: list[str]
    scores: dict[str, float] = {}  # as ChunkCheck's


class ChunkCheck(Record):
    """What verification heard in the kept take; `takes` lists every take, the kept one among them."""

    passed: bool
    transcript: str
    wer: float
    misfit: float | None
    flags: list[str]  # each starts with its kind: voice:, quality:, pace:, or a words flag (missing words:, garbled:, ...)
    takes: list[TakeEntry]
    words: list[WordEntry]
    status: str = "passed"  # passed, flagged, or unverified (its voice is one the recognizer cannot hear)
    advisory: list[str] = []  # the word flags of an unverified chunk: what the recognizer heard, not trusted
    # similarity (to the voice's reference), drift (to the book's centroid of it), pace (voiced s a word),
    # snr_db, clipped, longest_pause, end_db, and mos_sig/mos_bak/mos_ovrl when DNSMOS ran
    scores: dict[str, float] = {}


class ChunkEntry(Record):
    """A chunk as placed in the book; `problems` says why a person should listen to it."""

    id: str
    text: str  # as written in the source
    normalized: str  # what the model read
    boundary: str
    key: str  # the chunk cache's key for its audio
    offset: int  # in the whole book, samples
    samples: int
    start: float
    duration: float
    gain_db: float
    max_length: bool
    worker: str
    wall_seconds: float
    verify: ChunkCheck | None = None  # None: not verified
    voice: str | None = None  # a voice of its own, as the text names it; None: the narrator's
    role: str = "narration"  # why it has its voice

    def problems(self) -> list[str]:
        """What is still wrong with the kept take: verification's flags, and the model's max length."""
        flags = list(self.verify.flags) if self.verify and not self.verify.passed else []
        return flags + (["max length reached (no end of speech)"] if self.max_length else [])


class PageEntry(Record):
    """A print page of the source (its page-break marker), found where its first chunk begins."""

    page: str
    chunk: str
    start: float  # seconds into the book


class ChapterEntry(Record):
    index: int
    title: str
    file: str  # relative to the manifest's folder
    start: float
    end: float
    start_sample: int
    samples: int
    loudness: float
    true_peak: float
    gain_db: float
    chunks: list[ChunkEntry]
    level_curve: list[float] = []  # the loudness preset's measure, a value a second over the 3 s before it
    pages: list[PageEntry] = []


class BookEntry(Record):
    source: str
    sha256: str
    title: str
    author: str | None
    language: str | None
    date: str | None
    skipped: list[Skipped]
    words_read: int
    words_not_read: int
    not_read: list[NotRead]
    warnings: list[str]


class Outputs(Record):
    m4b: str
    srt: str
    vtt: str
    sample_rate: int
    samples: int
    duration: float
    chunks: int  # as `inspect` counts them with the model's tokenizer
    distinct_chunks: int  # chunks of the same text are synthesized once

    def files(self) -> list[str]:
        return [self.m4b, self.srt, self.vtt]


class OutputFile(Record):
    """A file the run wrote, relative to the manifest's folder: a rerun trusts it only at this size."""

    path: str
    bytes: int
    sha256: str

    def intact(self, folder: Path) -> bool:
        target = folder / self.path
        return target.is_file() and target.stat().st_size == self.bytes


class Verification(Record):
    verifier: str  # the backend and the fingerprint of its settings
    verified: int  # chunks heard
    regenerated: int  # chunks taken again with a new seed after failing
    flagged: list[str]  # ids of chunks still failing, kept (verify.json says what each lacks)
    unverified: list[str] = []  # ids of chunks whose words the recognizer could not check (nothing else flagged)
    checks: list[str] = []  # words, voice, quality, mos: what was checked


class ReadAlongEntry(Record):
    """The read-along EPUB: what of the book is highlighted as it plays."""

    file: str
    granularity: str  # "sentences" or "words"
    overlays: int  # content documents with a media overlay
    placed: int  # chunks highlighted in the text
    not_placed: list[str]  # ids of chunks read aloud but not found in the text (notes read at a chapter's end)


class RedoneChunk(Record):
    """A chunk a person had made again (`pocket-batch redo`), and the take it replaced."""

    id: str
    previous_key: str
    key: str
    attempt: int  # the take's attempt number in its key (each redo asks for a new one)
    seed: int  # the run seed its key was made with (`--seed`, or the render's)


class SyntheticSpeech(Record):
    ai_generated: bool
    statement: str


class Manifest(Record):
    schema_version: int = MANIFEST_VERSION
    synthetic_speech: SyntheticSpeech
    book: BookEntry
    outputs: Outputs
    loudness: dict
    config: dict
    model: dict
    voice: dict  # the narrator's
    voices: dict[str, dict] = {}  # every other voice, by the name the text or map gives it: a clone's sample and
    # consent record with their SHA-256, as the narrator's
    software: dict
    chapters: list[ChapterEntry]
    max_length_chunks: list[str]
    files: list[OutputFile]  # every output but the manifest itself
    verification: Verification | None = None  # None: not verified
    readalong: ReadAlongEntry | None = None  # None: none was asked for
    redone: list[RedoneChunk] = []  # every redo since the book was rendered, oldest first

    def intact(self, folder: Path) -> bool:
        """Every file this manifest names is in `folder` at its recorded size."""
        return all(f.intact(folder) for f in self.files)


MANIFEST = "manifest.json"  # in the folder of the book it describes


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the book rendered into `folder`, or a one-line error saying why there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        raise PocketBatchError(f"{folder}: no {MANIFEST} here (name the folder of one rendered book)")
    try:
        return read_record(path, Manifest)
    except ValueError as exc:
        raise PocketBatchError(f"{path}: not a manifest this version reads ({str(exc).splitlines()[0]})") from None


def readable_manifest(path: Path) -> Manifest | None:
    """The manifest at `path`; None if it is missing, not JSON, or not this version's schema."""
    try:
        return read_record(path, Manifest)
    except (OSError, ValueError):
        return None


def intact_manifest(folder: Path) -> Manifest | None:
    """The manifest of `folder` if it reads and every file it names is in place at its recorded size."""
    manifest = readable_manifest(folder / MANIFEST)
    return manifest if manifest and manifest.intact(folder) else None


def software_versions() -> dict:
    names = ("pocket-batch", "pocket-tts", "torch", "ray", "numpy", "soundfile", "pyloudnorm", "imageio-ffmpeg",
             "pocketsphinx")
    return {"python": platform.python_version()} | {n: version(n) for n in names}


def seconds(samples: int) -> float:
    return round(samples / SAMPLE_RATE, 3)


def write_manifest(folder: Path, book: Book, result: Audiobook, *, config: dict, model: dict, voice: dict,
                   voices: dict[str, dict], loudness: dict, verifier: str | None = None, readalong: ReadAlong | None = None,
                   redone: list | None = None, checks: tuple[str, ...] = ()) -> Manifest:
    out = folder
    placed = [p for c in result.chapters for p in c.placement.chunks]
    verification = None
    if verifier:
        verification = Verification(verifier=verifier, verified=sum(p.audio.verdict is not None for p in placed),
                                    regenerated=sum(len(p.audio.takes) > 1 for p in placed),
                                    flagged=[p.chunk.id for p in placed if p.audio.verdict and not p.audio.verdict.passed],
                                    unverified=[p.chunk.id for p in placed
                                                if p.audio.verdict and p.audio.verdict.status == "unverified"],
                                    checks=list(checks))
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
        loudness=loudness, config=config, model=model, voice=voice, voices=voices, software=software_versions(),
        chapters=[_chapter(c, out) for c in result.chapters],
        max_length_chunks=[p.chunk.id for c in result.chapters for p in c.placement.chunks if p.audio.max_length],
        files=[_file(path, out) for path in (result.m4b, *result.subtitles, *(c.file for c in result.chapters),
                                             *([readalong.path] if readalong else []))],
        verification=verification,
        readalong=ReadAlongEntry(file=readalong.path.name, granularity=readalong.granularity, overlays=readalong.overlays,
                                 placed=readalong.placed, not_placed=list(readalong.not_placed)) if readalong else None,
        redone=redone or [],
    )
    write_record(folder / MANIFEST, manifest)
    return manifest


def _file(path: Path, out: Path) -> OutputFile:
    return OutputFile(path=str(path.relative_to(out)), bytes=path.stat().st_size, sha256=sha256_file(path))


def _chapter(c: ChapterResult, out: Path) -> ChapterEntry:
    placement = c.placement
    return ChapterEntry(
        index=placement.chapter.index, title=placement.chapter.title, file=str(c.file.relative_to(out)),
        start=seconds(c.start), end=seconds(c.start + placement.samples), start_sample=c.start,
        samples=placement.samples, loudness=c.loudness, true_peak=c.true_peak, gain_db=c.gain_db,
        level_curve=list(c.curve), pages=_pages(c),
        chunks=[ChunkEntry(
            id=p.chunk.id, text=p.chunk.text, normalized=p.chunk.normalized, boundary=p.chunk.boundary.value,
            key=p.audio.key, offset=c.start + p.offset, samples=p.samples, start=seconds(c.start + p.offset),
            duration=seconds(p.samples), gain_db=round(p.gain_db, 2), max_length=p.audio.max_length,
            worker=p.audio.worker, wall_seconds=p.audio.wall_seconds, verify=_check(p, c.start),
            voice=p.chunk.voice, role=p.chunk.role,
        ) for p in placement.chunks],
    )


def _pages(c: ChapterResult) -> list[PageEntry]:
    starts = {p.chunk.id: c.start + p.offset for p in c.placement.chunks}
    return [PageEntry(page=page, chunk=chunk, start=seconds(starts[chunk]))
            for page, chunk in c.placement.chapter.pages if chunk in starts]


def _check(p: PlacedChunk, chapter_start: int) -> ChunkCheck | None:
    verdict = p.audio.verdict
    if verdict is None:
        return None
    return ChunkCheck(
        passed=verdict.passed, transcript=verdict.transcript, wer=verdict.wer, misfit=verdict.misfit,
        flags=list(verdict.flags), status=verdict.status, advisory=list(verdict.advisory), scores=verdict.scores(),
        takes=[TakeEntry(attempt=t.attempt, key=t.key, wer=t.verdict.wer, flags=list(t.verdict.flags),
                         scores=t.verdict.scores()) for t in p.audio.takes],
        words=[WordEntry(word=w, start=chapter_start + s, end=chapter_start + e) for w, s, e in p.words()])
