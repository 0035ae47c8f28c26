"""Reading a source file (EPUB, PDF, DOCX, Calibre's formats, Markdown, text) into a Book of chapters and model-sized chunks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from pocket_batch.core.config import IngestOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import NOT_READ, Book
from pocket_batch.ingest.chunking import OpenVoice, make_chapter
from pocket_batch.ingest.dialogue import Roles
from pocket_batch.ingest.marks import MarkError, line_of, near_marks, pronunciations, without_say
from pocket_batch.ingest.normalize import Normalizer, load_lexicon
from pocket_batch.ingest.sentences import SentenceSplitter, TokenCounter
from pocket_batch.ingest.structure import Extracted
from pocket_batch.ingest.text import read_text_file
from pocket_batch.ingest.convert import CONVERTED

BOOK_SUFFIXES = (".epub", ".md", ".markdown", ".txt", ".pdf", ".docx", *CONVERTED)  # anything else is refused by name
NOT_READ_WARNING = 0.05  # warn when more than this share of a book's words is not read


def check_input(path: Path) -> None:
    """A one-line error unless `path` is a readable file of a kind pocket-batch reads: checked before a
    model loads or Ray starts."""
    if not path.is_file():
        raise PocketBatchError(f"{path}: input file not found" if not path.exists() else f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix not in BOOK_SUFFIXES:
        raise PocketBatchError(f"{path}: {suffix or 'a file without a suffix'} is not a book pocket-batch reads "
                               f"(it reads {', '.join(BOOK_SUFFIXES)})")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise PocketBatchError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def extract(path: Path, options: IngestOptions) -> Extracted:
    check_input(path)
    suffix = path.suffix.lower()
    if suffix == ".epub":
        from pocket_batch.ingest.epub import extract_epub

        return extract_epub(path, options)
    if suffix == ".pdf":
        from pocket_batch.ingest.pdf import extract_pdf

        return extract_pdf(path)
    if suffix == ".docx":
        from pocket_batch.ingest.docx import extract_docx

        return extract_docx(path)
    if suffix in CONVERTED:
        from pocket_batch.ingest.convert import extract_converted

        return extract_converted(path, options)
    if suffix in (".md", ".markdown"):
        from pocket_batch.ingest.markdown import extract_markdown

        return extract_markdown(path)
    from pocket_batch.ingest.text import extract_text

    return extract_text(path)


def read_book(path: Path, count_tokens: TokenCounter, max_tokens: int,
              options: IngestOptions = IngestOptions(), model_language: str | None = None) -> Book:
    """`model_language`: the language the model speaks, for a book that does not say its own (text,
    Markdown); `IngestOptions.language`, then the book's own, come first."""
    extracted = extract(path, options)
    language = options.language or extracted.language or model_language or "en"
    try:
        said = _pronunciations(extracted)
        extracted.warnings += _near_marks(extracted)
        lexicon = (load_lexicon(options.lexicon) if options.lexicon else {}) | said
        normalize = Normalizer(language, lexicon or None)
        extracted.warnings += normalize.warnings
        split = SentenceSplitter("\n\n".join(p.text for s in extracted.sections for p in s.paras), language)
        open_voice = OpenVoice()
        roles = Roles(options.dialogue_voice, dict(options.characters))
        made = [make_chapter(n, section, split, normalize, count_tokens, max_tokens, open_voice, roles)
                for n, section in enumerate(extracted.sections, start=1)]
        if open_voice.voice is not None:
            raise MarkError(f"[voice: {open_voice.voice}]", "never closed with [/voice]")
    except MarkError as exc:
        raise PocketBatchError(f"{_where(path, exc.mark)}: {exc}") from None
    chapters = tuple(chapter for chapter, _ in made if chapter.chunks)
    if not chapters:
        raise PocketBatchError(f"{path}: no readable text")
    omitted = tuple(extracted.omitted) + tuple(o for _, silent in made for o in silent)
    book = Book(source=path, title=extracted.title, chapters=chapters, author=extracted.author,
                language=extracted.language, date=extracted.date, cover=extracted.cover,
                skipped=tuple(extracted.skipped), omitted=omitted, pronunciations=tuple(said.items()))
    return replace(book, warnings=tuple(extracted.warnings) + tuple(_warnings(book, count_tokens, max_tokens)))


def _pronunciations(extracted: Extracted) -> dict[str, str]:
    """The book's [word](say: ...) marks as lexicon entries; each paragraph keeps the word as written.
    (A malformed mark is found where the paragraph is cut at its marks, `marks.runs`.)"""
    said: dict[str, str] = {}
    for section in extracted.sections:
        for para in section.paras:
            said |= pronunciations(para.text)
            para.text = without_say(para.text)
    return said


def _near_marks(extracted: Extracted) -> list[str]:
    near = [m for section in extracted.sections for para in section.paras for m in near_marks(para.text)]
    if not near:
        return []
    return [f"{len(near)} bracketed passage(s) read as text, not as marks: {', '.join(map(repr, dict.fromkeys(near[:3])))}"
            " (a mark is [pause 1.5s] or [voice: NAME]; \\[ writes a bracket that is never one)"]


def _where(path: Path, mark: str) -> str:
    """The file, with the line of the mark in it when the file is text (Markdown, plain text)."""
    if path.suffix.lower() not in (".md", ".markdown", ".txt"):
        return str(path)
    line = line_of(read_text_file(path), mark)
    return f"{path}:{line}" if line else str(path)


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
