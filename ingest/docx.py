"""DOCX: the document's body through python-docx; its top heading level makes chapters.

Paragraphs and table cells are read in document order. A "Title" paragraph names the book; headings of the
top level used start chapters, deeper ones are read as headings inside them. What Word keeps outside the
body is not read and is counted: footnotes and endnotes ("notes"), page headers and footers ("running heads").
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from lxml import etree

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import Omission
from pocket_batch.ingest.structure import Extracted, Para, Section

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
HEADING = re.compile(r"^heading\s*(\d)$", re.I)


def extract_docx(path: Path) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise PocketBatchError(f"{path}: not a Word document pocket-batch can open ({exc})") from None
    blocks = [(_level(p.style.name if p.style is not None else ""), " ".join(p.text.split())) for p in _paragraphs(document)]
    blocks = [(level, text) for level, text in blocks if text]
    title = next((text for level, text in blocks if level == 0), None) or document.core_properties.title or path.stem
    levels = sorted({level for level, _ in blocks if level and level > 0})
    sections: list[Section] = [Section("", [], spoken_title=False)]
    for level, text in blocks:
        if levels and level == levels[0]:
            sections.append(Section(text, [Para(text, heading=True)], spoken_title=False))
        else:
            if level is not None and sections[-1].paras:
                sections[-1].paras[-1].section_break = True
            sections[-1].paras.append(Para(text, heading=level is not None))
    sections = [s for s in sections if s.paras]
    for section in sections:
        section.title = section.title or section.paras[0].text[:60]
    author = document.core_properties.author or None
    language = (document.core_properties.language or "").split("-")[0] or None
    return Extracted(title=title, sections=sections, author=author, language=language, omitted=_outside_body(path))


def _level(style: str) -> int | None:
    """0 for the title, N for "Heading N", None for body text."""
    if style.lower() == "title":
        return 0
    found = HEADING.match(style)
    return int(found.group(1)) if found else None


def _paragraphs(document):
    """Body paragraphs and the paragraphs of table cells, in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in document.element.body.iterchildren():
        if child.tag == f"{W}p":
            yield Paragraph(child, document)
        elif child.tag == f"{W}tbl":
            for row in Table(child, document).rows:
                for cell in row.cells:
                    yield from cell.paragraphs


def _outside_body(path: Path) -> list[Omission]:
    """Notes and page headers and footers: their words, by part."""
    omitted = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            kind = ("notes" if re.fullmatch(r"word/(foot|end)notes\.xml", name)
                    else "running heads" if re.fullmatch(r"word/(header|footer)\d*\.xml", name) else None)
            if kind is None:
                continue
            root = etree.fromstring(z.read(name))
            words = sum(len("".join(t.text or "" for t in p.iter(f"{W}t")).split()) for p in root.iter(f"{W}p"))
            if words:
                omitted.append(Omission(kind, name, words, name.split("/")[-1]))
    return omitted
