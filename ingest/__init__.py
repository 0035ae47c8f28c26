"""Ingest: source files into a Book of chapters and model-sized sentence chunks."""

from __future__ import annotations

from pathlib import Path

from pocket_batch.ingest.sentences import TokenCounter, fit_to_tokens, split_sentences
from pocket_batch.ingest.text import paragraphs, read_text
from pocket_batch.pipeline.errors import PocketBatchError
from pocket_batch.pipeline.records import Book, Boundary, Chapter, Chunk, chunk_id


def read_book(path: Path, count_tokens: TokenCounter, max_tokens: int) -> Book:
    if not path.is_file():
        raise PocketBatchError(f"{path}: input file not found")
    chapter = make_chapter(1, path.stem, paragraphs(read_text(path)), count_tokens, max_tokens)
    if not chapter.chunks:
        raise PocketBatchError(f"{path}: no readable text")
    return Book(source=path, title=path.stem, chapters=(chapter,))


def make_chapter(index: int, title: str, paras: list[str], count_tokens: TokenCounter,
                 max_tokens: int) -> Chapter:
    """Sentence chunks of a chapter, each marked with what follows it."""
    pieces: list[tuple[str, Boundary]] = []
    for para in paras:
        parts = [p for s in split_sentences(para) for p in fit_to_tokens(s, count_tokens, max_tokens)]
        pieces += [(p, Boundary.SENTENCE) for p in parts]
        if pieces:
            pieces[-1] = (pieces[-1][0], Boundary.PARAGRAPH)
    if pieces:
        pieces[-1] = (pieces[-1][0], Boundary.CHAPTER)
    chunks = tuple(
        Chunk(chunk_id(index, n), index, text, text, boundary)
        for n, (text, boundary) in enumerate(pieces, start=1)
    )
    return Chapter(index, title, chunks)
