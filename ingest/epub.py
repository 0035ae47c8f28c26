"""EPUB 2 and 3: reading order from the spine, chapters from the nav or NCX, matter and notes handled.

The package (OPF, spine, TOC, metadata) is read by ebooklib after the zip has
passed `check_epub_zip`; content documents are walked by `ingest.html`.
"""

from __future__ import annotations

import posixpath
import re
import warnings as pywarnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from pocket_batch.ingest import html
from pocket_batch.ingest.epub_safety import check_epub_zip
from pocket_batch.core.records import Omission
from pocket_batch.ingest.structure import Extracted, Para, Section
from pocket_batch.ingest.text import utf16
from pocket_batch.core.config import IngestOptions
from pocket_batch.core.errors import PocketBatchError

MATTER = {"cover": "cover", "titlepage": "title page", "title-page": "title page", "halftitlepage": "title page",
          "copyright-page": "copyright page", "copyright": "copyright page", "toc": "table of contents",
          "index": "index", "colophon": "colophon", "imprint": "imprint", "loi": "list of illustrations",
          "lot": "list of tables", "endnotes": "notes", "footnotes": "notes", "rearnotes": "notes"}
MATTER_TITLES = re.compile(r"^\s*(cover|title\s*page|half\s*title|copyright( page)?|(table of )?contents|index|"
                           r"colophon|imprint|list of (illustrations|figures|tables))\s*$", re.I)
FEW_SENTENCES = 3  # matter guessed from a title or a copyright line alone is skipped only if this short
NEAR_MISS = 5 * FEW_SENTENCES  # read, with a warning, up to this long; longer ones are chapters, read silently
SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)]*(\s|$)")
COPYRIGHT_TEXT = re.compile(r"all rights reserved|\bISBN\b|copyright \u00a9|\u00a9\s*\d{4}", re.I)
XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([\w.-]+)[\"']")


@dataclass
class Start:
    title: str
    matter: str | None = None


def extract_epub(path: Path, options: IngestOptions) -> Extracted:
    check_epub_zip(path)
    book = _read_package(path)
    out = Extracted(title=_meta(book, "title") or path.stem, sections=[])
    if not _meta(book, "title"):
        out.warnings.append("no title in the metadata; using the file name")
    out.author, out.language, out.date = _meta(book, "creator"), _meta(book, "language"), _meta(book, "date")
    out.cover = _cover(book)
    docs = _spine_documents(book, out)
    starts = _toc_starts(book, out.warnings)
    _mark_landmarks(book, starts)
    note_ids = set().union(*(html.noteref_targets(d.root) for d in docs)) if docs else set()
    notes = {k: v for d in docs for k, v in html.note_texts(d.root, note_ids).items()}
    reading = html.Reading(note_ids, options.math, options.image_alt)
    read_notes = notes if options.footnotes == "chapter-end" else None
    for section, matter, omitted in _sections(docs, starts, reading, read_notes, out.warnings):
        if not section.paras or (matter and not options.include_front_matter):
            why = matter or "no text"
            if (section.title, why) not in out.skipped:
                out.skipped.append((section.title, why))
            words = sum(html.word_count(p.text) for p in section.paras)
            if words:
                out.omitted.append(Omission("notes" if matter == "notes" else "front and back matter",
                                            section.title, words, why))
        else:
            out.sections.append(section)
        out.omitted += omitted
    return out


def _read_package(path: Path):
    from ebooklib import epub

    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            return epub.read_epub(str(path))
    except KeyError as exc:
        raise PocketBatchError(f"{path}: a file listed in the package is missing from the archive ({exc.args[0]})") from None
    except epub.EpubException as exc:
        raise PocketBatchError(f"{path}: not a readable EPUB ({exc.msg})") from None
    except Exception as exc:  # noqa: BLE001 - ebooklib fails with AttributeError/TypeError on broken packages
        raise PocketBatchError(f"{path}: malformed EPUB package ({type(exc).__name__}: {exc})".splitlines()[0]) from None


def _meta(book, name: str) -> str | None:
    values = book.get_metadata("DC", name)
    text = values[0][0] if values and values[0][0] else None
    return " ".join(text.split()) if text else None


def _cover(book) -> bytes | None:
    import ebooklib

    items = list(book.get_items_of_type(ebooklib.ITEM_COVER))
    for _, attrs in book.get_metadata("OPF", "cover"):
        item = book.get_item_with_id(attrs.get("content", ""))
        if item is not None:
            items.append(item)
    for item in items:
        if item.media_type and item.media_type.startswith("image/"):
            return item.get_content()
    return None


def _spine_documents(book, out: Extracted) -> list[html.Document]:
    docs = []
    for idref, linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None:
            out.warnings.append(f"spine entry {idref!r} is not in the manifest; skipped")
            continue
        if not (item.media_type or "").endswith(("xhtml+xml", "html")):
            continue
        root = html.parse_xhtml(_utf8(item.content, item.get_name(), out.warnings))  # raw bytes, not re-serialized
        if root is None:
            continue
        if linear == "no":  # outside the reading order (pop-ups, answers): counted, not read
            text = " ".join(next(root.iter("{*}body"), root).itertext())
            if html.word_count(text):
                out.omitted.append(Omission("outside the reading order", item.get_name(), html.word_count(text),
                                            'linear="no"'))
            continue
        body = next(root.iter("{*}body"), root)
        types = html.epub_types(body) | html.epub_types(next(iter(body), body))
        docs.append(html.Document(item.get_name(), root, types))
    return docs


def _utf8(data: bytes, name: str, warnings: list[str]) -> bytes:
    """Content as UTF-8: UTF-16 by its byte-order mark or pattern; a declared encoding as lxml reads it; one that
    claims UTF-8 (or nothing) but is not, as cp1252 with a warning."""
    if wide := utf16(data):
        text = data.decode(wide, errors="replace")
        return re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", text).encode("utf-8")
    declared = XML_ENCODING.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return data  # lxml honours a declared encoding
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        warnings.append(f"{name} is not valid UTF-8; read as cp1252")
        text = data.decode("cp1252", errors="replace")
        return re.sub(r"^\s*<\?xml[^>]*\?>", "", text).encode("utf-8")


def _toc_starts(book, warnings: list[str]) -> dict[tuple[str, str | None], Start]:
    """(file, anchor) -> chapter start, from the EPUB3 nav or the NCX, nested entries flattened."""
    starts: dict[tuple[str, str | None], Start] = {}

    def visit(entries) -> None:
        for entry in entries:
            node, children = (entry if isinstance(entry, tuple) else (entry, []))
            href = getattr(node, "href", None)
            title = " ".join((getattr(node, "title", "") or "").split())
            if href:
                starts.setdefault(_split_href(href), Start(title))
            visit(children)

    visit(book.toc or [])
    if not starts:
        warnings.append("no table of contents (nav or NCX): one chapter per spine file, titled by its heading")
    return starts


def _split_href(href: str) -> tuple[str, str | None]:
    file, _, anchor = unquote(href).partition("#")
    return posixpath.normpath(file), anchor or None


def _mark_landmarks(book, starts: dict) -> None:
    """Matter types from EPUB3 landmarks and the EPUB2 guide, attached to chapter starts."""
    import ebooklib

    marks: list[tuple[str, str]] = [(g.get("href") or "", g.get("type") or "") for g in (book.guide or [])]
    for nav in book.get_items_of_type(ebooklib.ITEM_NAVIGATION):
        root = html.parse_xhtml(nav.get_content())
        for landmarks in (root.iter("{*}nav") if root is not None else []):
            if "landmarks" in html.epub_types(landmarks):
                base = posixpath.dirname(nav.get_name())
                for a in landmarks.iter("{*}a"):
                    marks.append((posixpath.join(base, a.get("href", "")), " ".join(html.epub_types(a))))
    for href, kind in marks:
        matter = next((MATTER[t] for t in kind.split() if t in MATTER), None)
        key = _split_href(href)
        if matter:
            start = starts.get(key) or starts.get((key[0], None))
            if start is None:
                starts[(key[0], key[1])] = start = Start("")
            start.matter = matter


def _sections(docs, starts, reading: html.Reading, notes, warnings: list[str]
              ) -> list[tuple[Section, str | None, list[Omission]]]:
    """Sections in reading order, each with its matter kind (or None) and what in it is not read."""
    sections: list[tuple[Section, str | None]] = []
    referenced: list[list[str]] = []
    omitted: list[list[tuple[str, int, str]]] = []

    def begin(title: str, matter: str | None, start: str) -> None:
        sections.append((Section(title, [], spoken_title=False, start=start), matter))
        referenced.append([])
        omitted.append([])

    for doc in docs:
        start = starts.get((doc.name, None))
        if start is not None or not sections or not starts or _doc_matter(doc):
            begin(start.title if start and start.title else "", (start.matter if start else None) or _doc_matter(doc),
                  doc.name)
        for event in html.events(doc.root, reading):
            if event.kind == "anchor" and (doc.name, event.value) in starts:
                anchor = starts[(doc.name, event.value)]
                if sections[-1][0].paras:
                    begin(anchor.title, anchor.matter, f"{doc.name}#{event.value}")
                else:  # two entries at one place: the deeper (later) title wins
                    sections[-1] = (Section(anchor.title or sections[-1][0].title, [], spoken_title=False,
                                            start=sections[-1][0].start), anchor.matter or sections[-1][1])
            elif event.kind == "block":
                sections[-1][0].paras.append(Para(event.value, heading=event.heading))
                if not sections[-1][0].title and event.heading:
                    sections[-1][0].title = event.value
            elif event.kind == "break" and sections[-1][0].paras:
                sections[-1][0].paras[-1].section_break = True
            elif event.kind == "noteref":
                referenced[-1].append(event.value)
            elif event.kind == "omit":
                omitted[-1].append((event.value, event.words, event.detail))
                if event.value == "page numbers" and event.detail:
                    sections[-1][0].pages.append((event.detail, len(sections[-1][0].paras)))
    read_notes = {r for refs in referenced for r in refs if notes and r in notes}
    result = []
    for (section, matter), refs, left_out in zip(sections, referenced, omitted):
        _finish(section, refs, notes)
        matter = matter or _title_matter(section, warnings)
        result.append((section, matter, [Omission(kind, section.title, words, detail) for kind, words, detail in left_out
                                         if not (kind == "notes" and detail in read_notes)]))
    return result


def _finish(section: Section, refs: list[str], notes: dict[str, str] | None) -> None:
    if not section.title:
        section.title = section.paras[0].text[:60] if section.paras else "Untitled"
    if notes:
        texts = [notes[r] for r in dict.fromkeys(refs) if r in notes]
        if texts and section.paras:
            section.paras[-1].section_break = True
        section.paras += [Para(f"Note {n}. {text}") for n, text in enumerate(texts, start=1)]


def _doc_matter(doc: html.Document) -> str | None:
    return next((MATTER[t] for t in doc.types if t in MATTER), None)


def _title_matter(section: Section, warnings: list[str]) -> str | None:
    """Matter guessed from the title or a copyright line alone: skipped only when the section is that short.

    Marked matter (epub:type, landmarks) is trusted; a guess that would skip real content is not.
    """
    title = MATTER_TITLES.match(section.title)
    guess = title.group(1).lower() if title else None
    if guess is None and any(COPYRIGHT_TEXT.search(p.text) for p in section.paras):
        guess = "copyright page"
    if guess is None:
        return None
    sentences = sum(len(SENTENCE_END.findall(p.text)) for p in section.paras)
    if sentences <= FEW_SENTENCES:
        return guess
    if sentences > NEAR_MISS:  # plainly a chapter (a running copyright line in every section says nothing)
        return None
    warnings.append(f"{section.title!r} is read: it looks like front matter ({guess}) but has {sentences} sentences")
    return None
