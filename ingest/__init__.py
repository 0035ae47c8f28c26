"""Ingest: EPUB, Markdown and text files into a Book of chapters and model-sized sentence chunks."""

from __future__ import annotations

from pathlib import Path

from pocket_batch.ingest.normalize import Normalizer, load_lexicon
from pocket_batch.ingest.sentences import SentenceSplitter, TokenCounter, fit_to_tokens
from pocket_batch.ingest.structure import Extracted, Section
from pocket_batch.pipeline.config import IngestOptions
from pocket_batch.pipeline.errors import PocketBatchError
from pocket_batch.pipeline.records import Book, Boundary, Chapter, Chunk, chunk_id

BOOK_SUFFIXES = (".epub", ".md", ".markdown", ".txt")  # what an inbox picks up; anything else is read as text
SHORT_WORDS = 2  # a sentence this short ("Yes.", "He nodded.") is read with its neighbour


def extract(path: Path, options: IngestOptions) -> Extracted:
    if not path.is_file():
        raise PocketBatchError(f"{path}: input file not found")
    suffix = path.suffix.lower()
    if suffix == ".epub":
        from pocket_batch.ingest.epub import extract_epub

        return extract_epub(path, options)
    if suffix in (".md", ".markdown"):
        from pocket_batch.ingest.markdown import extract_markdown

        return extract_markdown(path)
    from pocket_batch.ingest.text import extract_text

    return extract_text(path)


def read_book(path: Path, count_tokens: TokenCounter, max_tokens: int,
              options: IngestOptions = IngestOptions()) -> Book:
    extracted = extract(path, options)
    lexicon = load_lexicon(options.lexicon) if options.lexicon else None
    normalize = Normalizer(options.language or extracted.language or "en", lexicon)
    split = SentenceSplitter("\n\n".join(p.text for s in extracted.sections for p in s.paras))
    chapters = tuple(
        make_chapter(n, section, split, normalize, count_tokens, max_tokens)
        for n, section in enumerate(extracted.sections, start=1)
    )
    chapters = tuple(c for c in chapters if c.chunks)
    if not chapters:
        raise PocketBatchError(f"{path}: no readable text")
    return Book(
        source=path, title=extracted.title, chapters=chapters, author=extracted.author,
        language=extracted.language, skipped=tuple(extracted.skipped), warnings=tuple(extracted.warnings),
        metadata={"date": extracted.date, "cover": extracted.cover, "cover_type": extracted.cover_type},
    )


def make_chapter(index: int, section: Section, split: SentenceSplitter, normalize: Normalizer,
                 count_tokens: TokenCounter, max_tokens: int) -> Chapter:
    """Sentence chunks of a chapter, each marked with what follows it."""
    fits = lambda text: count_tokens(normalize(text))  # noqa: E731 - limits apply to what is read
    pieces: list[tuple[str, Boundary]] = []
    heading = section.title if section.spoken_title and section.title.strip() else None
    if heading:
        pieces.append((heading, Boundary.PARAGRAPH))
    for para in section.paras:
        sentences = [p for s in split(para.text) for p in fit_to_tokens(s, fits, max_tokens)]
        sentences = merge_short(sentences, fits, max_tokens)
        pieces += [(s, Boundary.SENTENCE) for s in sentences]
        if sentences:
            pieces[-1] = (sentences[-1], Boundary.SECTION if para.section_break else Boundary.PARAGRAPH)
    if pieces:
        pieces[-1] = (pieces[-1][0], Boundary.CHAPTER)
    chunks = tuple(
        Chunk(chunk_id(index, n), index, text,
              normalize.heading(text) if n == 1 and heading else normalize(text), boundary)
        for n, (text, boundary) in enumerate(pieces, start=1)
    )
    return Chapter(index, section.title, chunks)


def merge_short(sentences: list[str], fits: TokenCounter, max_tokens: int) -> list[str]:
    """Read a very short sentence together with the next one (the last with the previous), if it fits."""
    merged: list[str] = []
    for sentence in sentences:
        if merged and _short(merged[-1]) and fits(f"{merged[-1]} {sentence}") <= max_tokens:
            merged[-1] = f"{merged[-1]} {sentence}"
        else:
            merged.append(sentence)
    if len(merged) > 1 and _short(merged[-1]) and fits(f"{merged[-2]} {merged[-1]}") <= max_tokens:
        merged[-2:] = [f"{merged[-2]} {merged[-1]}"]
    return merged


def _short(sentence: str) -> bool:
    return len(sentence.split()) <= SHORT_WORDS
