"""Markdown: the top heading level makes chapters; code blocks, raw HTML, URLs, images and markup are never
spoken, inline code is read as written."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt

from pocket_batch.ingest.marks import escape
from pocket_batch.ingest.structure import Extracted, Para, Section
from pocket_batch.ingest.text import read_book_text

BREAK_INLINE = {"softbreak", "hardbreak"}


def extract_markdown(path: Path) -> Extracted:
    # text_join off: an escaped bracket (`\\[`) stays a token of its own, so it stays escaped (ingest/marks.py).
    tokens = MarkdownIt("commonmark").enable("table").disable("text_join").parse(read_book_text(path))
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    chapter_level = min(levels, default=0)
    title_level = None
    if levels.count(chapter_level) == 1 and len(set(levels)) > 1:
        # One top heading over several deeper ones: the book's title, read at the start.
        title_level, chapter_level = chapter_level, min(level for level in levels if level > chapter_level)
    sections = [Section(path.stem, [], spoken_title=False)]
    pending_heading: int | None = None
    for token in tokens:
        if token.type == "heading_open":
            pending_heading = int(token.tag[1])
        elif token.type == "inline":
            text = inline_text(token)
            if pending_heading is not None and pending_heading == title_level:
                sections[0].title = text
                sections[0].paras.append(Para(text, section_break=True, heading=True))
            elif pending_heading is not None:
                _add_heading(sections, text, pending_heading == chapter_level)
            elif text:
                sections[-1].paras.append(Para(text))
            pending_heading = None
        elif token.type == "hr" and sections[-1].paras:
            sections[-1].paras[-1].section_break = True
    title = sections[0].title
    if len(sections[0].paras) == (1 if title_level else 0) and len(sections) > 1:
        opening, first = sections.pop(0), sections[0]  # a lone book title opens the first chapter
        heading = [Para(first.title, heading=True)] if first.spoken_title else []
        sections[0] = Section(first.title, opening.paras + heading + first.paras, spoken_title=False)
    return Extracted(title=title, sections=[s for s in sections if s.paras or s.spoken_title])


def _add_heading(sections: list[Section], text: str, is_chapter: bool) -> None:
    if is_chapter:
        sections.append(Section(text, []))
        return
    # A sub-heading is read as its own paragraph after a section pause.
    if sections[-1].paras:
        sections[-1].paras[-1].section_break = True
    sections[-1].paras.append(Para(text, heading=True))


def inline_text(token) -> str:
    """Spoken words of an inline token: link text without its URL, no image, no markers; code and escaped
    characters as written. A link to `say:respelling` is a pronunciation mark, kept as one (ingest/marks.py)."""
    parts: list[str] = []
    say: str | None = None  # inside a pronunciation link: its respelling
    for child in token.children or []:
        if child.type in BREAK_INLINE:
            parts.append(" ")
        elif child.type == "text":  # images and inline HTML are not read
            parts.append(child.content)
        elif child.type == "code_inline" or child.type == "text_special":  # read as written, never a mark
            parts.append(escape(child.content))
        elif child.type == "link_open" and (child.attrGet("href") or "").startswith("say:"):
            parts.append("[")
            say = unquote(child.attrGet("href")[4:])
        elif child.type == "link_close" and say is not None:
            parts.append(f"](say: {say})")
            say = None
    return " ".join("".join(parts).split())

