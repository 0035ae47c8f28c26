"""A book as corpus prompts: cut as a render cuts it (ingest's chunks: sentences, joined up to the model's
token limit), each chunk a row with the chunk's id, read once it is normalized as the book is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from pocket_batch.core.config import MAX_TOKENS_PER_CHUNK, CorpusConfig, IngestOptions
from pocket_batch.core.reports import not_read
from pocket_batch.ingest.book import BOOK_SUFFIXES, read_book
from pocket_batch.ingest.csvfile import Problems, Utterance
from pocket_batch.pipeline.runlog import log
from pocket_batch.synth.model.source import ModelSource

BOOK_PROMPTS = tuple(s for s in BOOK_SUFFIXES if s != ".txt")  # a .txt is a sentence list


class BookPrompts:
    def __init__(self, path: Path, config: CorpusConfig, source: ModelSource):
        options = IngestOptions(lexicon=config.lexicon, language=config.language)
        self.path = path
        self.book = read_book(path, source.count_tokens, MAX_TOKENS_PER_CHUNK, options, source.language_code)
        unread = Counter()
        for item in not_read(self.book.omitted):
            unread[item.kind] += item.words
        if unread:  # what `pocket-batch inspect` lists item by item
            log.warning("%s: not read aloud, so not in the corpus: %s", path,
                        ", ".join(f"{kind} ({words} words)" for kind, words in unread.items()))

    def __iter__(self) -> Iterator[Utterance]:
        for n, chunk in enumerate(self.book.chunks, start=1):
            yield Utterance(chunk.id, chunk.text, row=n, normalized=chunk.normalized)

    def check(self, more: Callable[[Utterance], str | None] | None = None) -> int:
        problems, count = Problems(self.path), 0
        for u in self:
            count += 1
            problems.add(u.row, more(u) if more else None)
        problems.raise_any()
        return count
