"""PDF: the text layer, read through PDFium (pypdfium2), into chapters of paragraphs.

A PDF is pages of positioned lines, not a text: what is read is rebuilt from them. Running heads and feet (a
line in a page's top or bottom band that repeats, digits aside, on many pages) and page numbers are not
read, and are counted; each page's number is kept, as an EPUB's page markers are. Paragraphs end where the
gap between lines grows; a word hyphenated across a line end is joined. Chapters come from the outline
(bookmarks), else from lines set larger than the body text. A page without a text layer (a scan) cannot be
read: a PDF that is all scans is refused, naming its pages.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import Omission
from pocket_batch.ingest.structure import Extracted, Para, Section

BAND = 0.09  # the top and bottom share of a page where running heads, feet and page numbers sit
REPEATS = 0.3  # a band line repeating on this share of pages (at least 3) is a running head or foot
PARAGRAPH_GAP = 1.45  # a gap between lines this many times the usual one ends a paragraph
HEADING_SIZE = 1.25  # lines this much larger than the body text are headings, where there is no outline
PAGE_NUMBER = re.compile(r"^(?:page\s+)?(\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:/|of)\s*\d{1,4})?$", re.I)


@dataclass
class Line:
    page: int  # from 0
    text: str
    top: float  # points from the page's bottom
    bottom: float
    size: float  # font size of its first character


def extract_pdf(path: Path) -> Extracted:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise PocketBatchError(f"{path}: not a PDF pocket-batch can open ({exc})") from None
    with pdf:
        lines, heights, no_text = _read_lines(pdf)
        if len(no_text) == len(pdf):
            raise PocketBatchError(f"{path}: no text layer on any of its {len(pdf)} pages (a scanned PDF); "
                                   "pocket-batch reads a PDF's text, not its images: run OCR first (ocrmypdf)")
        outline = _outline(pdf)
        meta = pdf.get_metadata_dict()
    warnings = []
    if no_text:
        warnings.append(f"no text layer on pages {_pages_list(no_text)} (scanned): they are not read")
    body, omitted, page_labels = _remove_running_lines(lines, heights)
    sections = _sections(body, outline, page_labels, path.stem)
    title = (meta.get("Title") or "").strip() or path.stem
    return Extracted(title=title, sections=sections, author=(meta.get("Author") or "").strip() or None,
                     omitted=omitted, warnings=warnings)


def _read_lines(pdf) -> tuple[list[Line], list[float], list[int]]:
    """Every text line of every page in reading order, each page's height, and the pages with no text."""
    import pypdfium2.raw as raw

    lines: list[Line] = []
    heights: list[float] = []
    no_text: list[int] = []
    for n in range(len(pdf)):
        page = pdf[n]
        heights.append(page.get_height())
        text_page = page.get_textpage()
        text = text_page.get_text_range()
        if not text.strip():
            no_text.append(n)
            continue
        at = 0
        for raw_line in text.split("\r\n"):
            start, at = at, at + len(raw_line) + 2
            clean = raw_line.replace("\x02", "-").replace("\ufffe", "-").strip()  # PDFium's soft hyphen marks
            if not clean:
                continue
            first = start + len(raw_line) - len(raw_line.lstrip())
            boxes = [text_page.get_charbox(i) for i in range(first, start + len(raw_line)) if not raw_line[i - start].isspace()]
            lines.append(Line(n, " ".join(clean.split()), max(b[3] for b in boxes), min(b[1] for b in boxes),
                              raw.FPDFText_GetFontSize(text_page, first)))
    return lines, heights, no_text


def _outline(pdf) -> list[tuple[str, int]]:
    """(title, page) of every bookmark with a page, in order."""
    marks = []
    for bookmark in pdf.get_toc():
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        title = " ".join((bookmark.get_title() or "").split())
        if index is not None and title:
            marks.append((title, index))
    return marks


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower())


def _remove_running_lines(lines: list[Line], heights: list[float]) -> tuple[list[Line], list[Omission], dict[int, str]]:
    """The lines read, what was left out (running heads and feet, page numbers), and each page's printed number."""
    in_band = [line for line in lines if line.top > heights[line.page] * (1 - BAND) or line.bottom < heights[line.page] * BAND]
    pages = len({line.page for line in lines})
    counts = Counter(key for _, key in {(line.page, _key(line.text)) for line in in_band})  # pages each is on
    running = {key for key, count in counts.items() if count >= max(3, REPEATS * pages)}
    body, omitted, labels = [], [], {}
    band = set(map(id, in_band))
    for line in lines:
        number = PAGE_NUMBER.match(line.text) if id(line) in band else None
        if number:
            labels.setdefault(line.page, number.group(1))
            omitted.append(Omission("page numbers", f"page {line.page + 1}", len(line.text.split()), number.group(1)))
        elif id(line) in band and _key(line.text) in running:
            found = re.search(r"(\d{1,4})\s*(?:/|of)\s*\d{1,4}\s*$|(?:^|\s)(\d{1,4})$", line.text)
            if found:
                labels.setdefault(line.page, found.group(1) or found.group(2))
            omitted.append(Omission("running heads", f"page {line.page + 1}", len(line.text.split()), line.text[:40]))
        else:
            body.append(line)
    return body, omitted, labels


def _sections(lines: list[Line], outline: list[tuple[str, int]], labels: dict[int, str], fallback: str) -> list[Section]:
    """Chapters at the outline's bookmarks (each found by its title on its page, else at that page's top), or
    at lines set larger than the body; paragraphs by the gaps between lines."""
    starts = _outline_starts(lines, outline) if outline else _heading_starts(lines)
    if not starts or starts[0][0] > 0:
        starts.insert(0, (0, ""))
    usual_gap = _usual_gap(lines)
    sections = []
    for (begin, title), (end, _) in zip(starts, starts[1:] + [(len(lines), "")]):
        section = Section(title or (lines[begin].text[:60] if begin < len(lines) else fallback), [], spoken_title=False)
        previous: Line | None = None
        previous_heading = False
        for line in lines[begin:end]:
            if previous is None or previous.page != line.page:
                section.pages.append((labels.get(line.page, str(line.page + 1)), len(section.paras)))
            heading = title and previous is None and _same(line.text, title)
            new = (previous is None or heading or previous_heading or line.page != previous.page and _ends(previous)
                   or line.page == previous.page and previous.bottom - line.top > usual_gap * PARAGRAPH_GAP)
            if new or not section.paras:
                section.paras.append(Para(line.text, heading=bool(heading)))
            else:
                section.paras[-1].text = _join(section.paras[-1].text, line.text)
            previous_heading = bool(heading)
            previous = line
        if section.paras:  # a page that begins inside a paragraph is found at the next one
            sections.append(section)
    return sections


def _outline_starts(lines: list[Line], outline: list[tuple[str, int]]) -> list[tuple[int, str]]:
    starts: list[tuple[int, str]] = []
    after = 0
    for title, page in outline:
        on_page = [i for i in range(after, len(lines)) if lines[i].page == page]
        match = next((i for i in on_page if _same(lines[i].text, title)), None)
        at = match if match is not None else (on_page[0] if on_page else None)
        if at is None:
            continue
        if starts and starts[-1][0] == at:
            starts[-1] = (at, title)  # two bookmarks at one place: the deeper one
        else:
            starts.append((at, title))
        after = at
    return starts


def _heading_starts(lines: list[Line]) -> list[tuple[int, str]]:
    body = statistics.median(line.size for line in lines) if lines else 0
    return [(i, line.text) for i, line in enumerate(lines) if body and line.size >= body * HEADING_SIZE
            and (i == 0 or lines[i - 1].size < body * HEADING_SIZE)]


def _usual_gap(lines: list[Line]) -> float:
    gaps = [a.bottom - b.top for a, b in zip(lines, lines[1:]) if a.page == b.page and 0 < a.bottom - b.top]
    return statistics.median(gaps) if gaps else 0.0


def _same(text: str, title: str) -> bool:
    squash = re.compile(r"[\W_]+")
    return squash.sub("", text.lower()) == squash.sub("", title.lower())


def _ends(line: Line) -> bool:
    return bool(re.search(r"[.!?:\"'\u201d\u2019)]$", line.text))


def _join(text: str, line: str) -> str:
    """A line onto its paragraph; a word hyphenated across the line end is made whole ("exten-" "sive")."""
    if re.search(r"[a-zà-ÿ]-$", text) and re.match(r"[a-zà-ÿ]", line):
        return text[:-1] + line
    return f"{text} {line}"


def _pages_list(pages: list[int]) -> str:
    shown = ", ".join(str(p + 1) for p in pages[:10])
    return shown + (f" and {len(pages) - 10} more" if len(pages) > 10 else "")
