"""Reading a source file (EPUB, Markdown, text) into a Book of chapters and model-sized chunks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from pocket_batch.core.config import IngestOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import NOT_READ, Book
from pocket_batch.ingest.chunking import make_chapter
from pocket_batch.ingest.normalize import Normalizer, load_lexicon
from pocket_batch.ingest.sentences import SentenceSplitter, TokenCounter
from pocket_batch.ingest.structure import Extracted

BOOK_SUFFIXES = (".epub", ".md", ".markdown", ".txt")  # what is read; anything else is refused by name
NOT_READ_WARNING = 0.05  # warn when more than this share of a book's words is not read


def extract(path: Path, options: IngestOptions) -> Extracted:
    if not path.is_file():
        raise PocketBatchError(f"{path}: input file not found")
    suffix = path.suffix.lower()
    if suffix not in BOOK_SUFFIXES:
        raise PocketBatchError(f"{path}: {suffix or 'a file without a suffix'} is not a book pocket-batch reads "
                               f"(it reads {', '.join(BOOK_SUFFIXES)})")
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
    extracted.warnings += normalize.warnings
    split = SentenceSplitter("\n\n".join(p.text for s in extracted.sections for p in s.paras))
    made = [make_chapter(n, section, split, normalize, count_tokens, max_tokens)
            for n, section in enumerate(extracted.sections, start=1)]
    chapters = tuple(chapter for chapter, _ in made if chapter.chunks)
    if not chapters:
        raise PocketBatchError(f"{path}: no readable text")
    omitted = tuple(extracted.omitted) + tuple(o for _, silent in made for o in silent)
    book = Book(source=path, title=extracted.title, chapters=chapters, author=extracted.author,
                language=extracted.language, date=extracted.date, cover=extracted.cover,
                skipped=tuple(extracted.skipped), omitted=omitted)
    return replace(book, warnings=tuple(extracted.warnings) + tuple(_warnings(book, count_tokens, max_tokens)))


def _warnings(book: Book, count_tokens: TokenCounter, max_tokens: int) -> list[str]:
    """Chunks the model may cut short, and a book of which much is not read."""
    warnings = []
    for chapter in book.chapters:
        over = [c.id for c in chapter.chunks if count_tokens(c.normalized) > max_tokens]
        if over:
            warnings.append(f"chapter {chapter.index}: {len(over)} chunk(s) over {max_tokens} tokens "
                            f"(no clause or word boundary to split at): {', '.join(over[:3])}")
    read, not_read = book.words_read, book.words_not_read
    if not_read > NOT_READ_WARNING * (read + not_read):
        kinds = Counter()
        for o in book.omitted:
            kinds[o.kind] += o.words
        listed = ", ".join(f"{kind} {words}" for kind, words in sorted(kinds.items(), key=lambda kv: NOT_READ.index(kv[0])))
        warnings.append(f"{not_read} of {read + not_read} words ({not_read / (read + not_read):.0%}) are not read: "
                        f"{listed} (see the options for front matter, notes, math and images)")
    return warnings
