"""An EPUB 3 made from a book's chapters, for inputs that have none of their own (Markdown, text, EPUB 2).

One XHTML per chapter holds its text as read: the heading, paragraphs as the chunks'
boundaries mark them, and a rule at each section break. The package is plain EPUB 3;
overlays are added to it exactly as to an original EPUB.
"""

from __future__ import annotations

import uuid
from html import escape as escape_html

from pocket_batch.core.records import Book, Boundary, Chapter
from pocket_batch.postproc.readalong.package import Package, container_xml, xml_text

OPF_DIR = "EPUB"
XHTML_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" '
              'xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="{lang}" lang="{lang}">\n'
              '<head>\n<meta charset="utf-8"/>\n<title>{title}</title>\n</head>\n')
COVER_TYPES = {b"\x89PNG": ("png", "image/png"), b"\xff\xd8\xff": ("jpg", "image/jpeg")}


def document_name(chapter: Chapter) -> str:
    """A chapter's document, relative to the package document (as `Chapter.source` names documents)."""
    return f"text/ch{chapter.index:03d}.xhtml"


def generated_package(book: Book, identifier: str, modified: str) -> Package:
    language = book.language or "en"
    files = {"mimetype": b"application/epub+zip", "META-INF/container.xml": container_xml(f"{OPF_DIR}/package.opf")}
    items, spine = [], []
    for chapter in book.chapters:
        name = document_name(chapter)
        files[f"{OPF_DIR}/{name}"] = _chapter_xhtml(chapter, language).encode()
        items.append(f'<item id="c{chapter.index:03d}" href="{name}" media-type="application/xhtml+xml"/>')
        spine.append(f'<itemref idref="c{chapter.index:03d}"/>')
    files[f"{OPF_DIR}/nav.xhtml"] = _nav(book, language).encode()
    items.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
    cover = next((kind for magic, kind in COVER_TYPES.items() if book.cover and book.cover.startswith(magic)), None)
    if cover:
        files[f"{OPF_DIR}/cover.{cover[0]}"] = book.cover
        items.append(f'<item id="cover" href="cover.{cover[0]}" media-type="{cover[1]}" properties="cover-image"/>')
    author = f"<dc:creator>{escape(book.author)}</dc:creator>\n" if book.author else ""
    files[f"{OPF_DIR}/package.opf"] = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid" xml:lang="'
        f'{escape(language)}">\n<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'<dc:identifier id="uid">{escape(identifier)}</dc:identifier>\n<dc:title>{escape(book.title)}</dc:title>\n'
        f'{author}<dc:language>{escape(language)}</dc:language>\n'
        f'<meta property="dcterms:modified">{modified}</meta>\n</metadata>\n'
        '<manifest>\n' + "\n".join(items) + '\n</manifest>\n<spine>\n' + "\n".join(spine) + '\n</spine>\n</package>\n'
    ).encode()
    return Package(files, f"{book.source} (as EPUB 3)")


def book_identifier(digest: str) -> str:
    """A stable urn:uuid for a book, from its source's hash: the same input names the same book."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'pocket-batch:' + digest)}"


def escape(text: str) -> str:
    """Text for XML: escaped, and without the characters XML forbids (a DOS end-of-file, \\x01)."""
    return escape_html(xml_text(text))


def _chapter_xhtml(chapter: Chapter, language: str) -> str:
    chunks = list(chapter.chunks)
    heading = chunks.pop(0).text if chunks and chunks[0].text == chapter.title else chapter.title
    parts = [f'<body>\n<section epub:type="chapter" id="chapter-{chapter.index:03d}">\n<h1>{escape(heading)}</h1>\n']
    paragraph: list[str] = []
    for chunk in chunks:
        paragraph.append(escape(chunk.text))
        if chunk.boundary != Boundary.SENTENCE:
            parts.append(f"<p>{' '.join(paragraph)}</p>\n")
            paragraph = []
            if chunk.boundary == Boundary.SECTION:
                parts.append("<hr/>\n")
    if paragraph:
        parts.append(f"<p>{' '.join(paragraph)}</p>\n")
    parts.append("</section>\n</body>\n</html>\n")
    return XHTML_HEAD.format(lang=escape(language), title=escape(chapter.title)) + "".join(parts)


def _nav(book: Book, language: str) -> str:
    entries = "".join(f'<li><a href="{document_name(c)}">{escape(c.title)}</a></li>\n' for c in book.chapters)
    return (XHTML_HEAD.format(lang=escape(language), title=escape(book.title))
            + f'<body>\n<nav epub:type="toc" id="toc">\n<h1>{escape(book.title)}</h1>\n<ol>\n{entries}</ol>\n</nav>\n'
            '</body>\n</html>\n')
