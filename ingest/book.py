"""Reading a source file (EPUB, Markdown, text) into a Book of chapters and model-sized chunks."""

from __future__ import annotations

from pathlib import Path

from pocket_batch.core.config import IngestOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import Book
from pocket_batch.ingest.chunking import make_chapter
from pocket_batch.ingest.normalize import Normalizer, load_lexicon
from pocket_batch.ingest.sentences import SentenceSplitter, TokenCounter
from pocket_batch.ingest.structure import Extracted

BOOK_SUFFIXES = (".epub", ".md", ".markdown", ".txt")  # what an inbox picks up; anything else is read as text


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
        language=extracted.language, date=extracted.date, cover=extracted.cover,
        skipped=tuple(extracted.skipped), warnings=tuple(extracted.warnings),
    )
