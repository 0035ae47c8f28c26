"""`pocket-batch inspect`: what a book will become, without loading a model."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from pocket_batch.core.config import MAX_TOKENS_PER_CHUNK, IngestOptions, ModelOptions
from pocket_batch.core.reports import NotRead, Record, Skipped, not_read
from pocket_batch.ingest.book import read_book
from pocket_batch.ingest.sentences import TokenCounter
from pocket_batch.synth.model.source import ModelSource

INSPECT_VERSION = 2


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


WORDS_PER_MINUTE = 155  # narration pace of Pocket TTS voices, roughly
TOKENS_PER_WORD = 1.35  # the released English tokenizer on prose, roughly


def estimate_tokens(text: str) -> int:
    return round(len(text.split()) * TOKENS_PER_WORD) + 1


def inspect_book(path: Path, options: IngestOptions = IngestOptions(), source: ModelSource | None = None,
                 max_tokens: int = MAX_TOKENS_PER_CHUNK) -> InspectReport:
    """With the model's tokenizer on disk (`--model-config`, or the released model's in Hugging Face's cache)
    chunks are cut exactly as a run cuts them; otherwise by an estimate of its token counts, and the report
    says so. Nothing is fetched."""
    started = time.perf_counter()
    source = source or ModelSource(ModelOptions())
    counter = source.offline_token_counter()
    exact = counter is not None
    count_tokens: TokenCounter = counter or estimate_tokens
    book = read_book(path, count_tokens, max_tokens, options, source.language_code)
    language = source.language_warning(book.language)
    chapters = []
    for chapter in book.chapters:
        words = sum(len(c.text.split()) for c in chapter.chunks)
        chapters.append(ChapterSummary(index=chapter.index, title=chapter.title, words=words,
                                       chunks=len(chapter.chunks), minutes=round(words / WORDS_PER_MINUTE, 1)))
    warnings = list(book.warnings) + [f"empty section skipped: {title}" for title, why in book.skipped if why == "no text"]
    warnings += [language] if language else []
    words = sum(c.words for c in chapters)
    return InspectReport(
        path=str(path), title=book.title, author=book.author, language=book.language, date=book.date,
        cover=bool(book.cover), chapters=chapters, words=words, chunks=sum(c.chunks for c in chapters),
        distinct_chunks=len({c.normalized for c in book.chunks}),
        counted_with="the model's tokenizer" if exact else f"an estimate ({TOKENS_PER_WORD} tokens a word)",
        minutes=round(words / WORDS_PER_MINUTE, 1), skipped=[Skipped(title=t, why=why) for t, why in book.skipped],
        words_not_read=book.words_not_read, not_read=not_read(book.omitted), warnings=warnings, seconds=round(time.perf_counter() - started, 3),
        voices=dict(Counter(c.voice for c in book.chunks if c.voice)), pauses=sum(c.pause is not None for c in book.chunks),
        pronunciations=dict(book.pronunciations),
    )
