"""The JSON documents pocket-batch writes for people and tools: a book's manifest and the `inspect` report.

Each is one typed model, written and read back through the same schema (with a
version), so the run, `status`, benchmarks and tests all read them alike.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pocket_batch.core.files import write_json

MANIFEST_VERSION = 4  # 2: what is not read, by kind; every output file with its size and hash. 3: verification.
# 4: the read-along book
INSPECT_VERSION = 2


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Skipped(Record):
    title: str
    why: str


class NotRead(Record):
    """Text not read aloud (core.records.Omission), as reports list it."""

    kind: str
    where: str
    words: int
    detail: str = ""


def not_read(omitted) -> list[NotRead]:
    return [NotRead(kind=o.kind, where=o.where, words=o.words, detail=o.detail) for o in omitted]


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


class ChunkCheck(Record):
    """What verification heard in the kept take; `takes` lists every take, the kept one among them."""

    passed: bool
    transcript: str
    wer: float
    misfit: float | None
    flags: list[str]
    takes: list[TakeEntry]
    words: list[WordEntry]


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
    voice: dict
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

    def write(self, target: Path) -> None:
        write_json(target, self.model_dump(mode="json"))

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


class ChapterSummary(Record):
    index: int
    title: str
    words: int
    chunks: int
    minutes: float


class InspectReport(Record):
    schema_version: int = INSPECT_VERSION
    path: str
    title: str
    author: str | None
    language: str | None
    date: str | None
    cover: bool
    chapters: list[ChapterSummary]
    words: int
    chunks: int
    distinct_chunks: int  # chunks of the same text are synthesized once
    counted_with: str  # the model's tokenizer, or an estimate: chunk counts are exact only with the first
    minutes: float
    voices: dict[str, int] = {}  # chunks per voice other than the narrator's (voice marks)
    pauses: int = 0  # pauses set by marks
    pronunciations: dict[str, str] = {}  # word -> respelling, from the text's marks
    skipped: list[Skipped]
    words_not_read: int
    not_read: list[NotRead]
    warnings: list[str]
    seconds: float
