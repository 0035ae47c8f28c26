"""What a reader extracts before chunking: sections of paragraphs, plus book metadata."""

from __future__ import annotations

from dataclasses import dataclass, field

from pocket_batch.core.records import Omission


@dataclass
class Para:
    text: str
    section_break: bool = False  # a scene break (* * *, <hr>, a sub-heading) follows
    heading: bool = False  # a heading inside the chapter: its numerals are numbers ("II. A GAME OF CHESS")


@dataclass
class Section:
    title: str
    paras: list[Para]
    spoken_title: bool = True  # the title is part of the text (a heading), so it is read
    start: str = ""  # where it begins in an EPUB: a content document's name, with "#anchor" if inside it
    pages: list[tuple[str, int]] = field(default_factory=list)  # a print page's number, and the paragraph it opens in


@dataclass
class Extracted:
    title: str
    sections: list[Section]
    author: str | None = None
    language: str | None = None
    date: str | None = None
    cover: bytes | None = field(default=None, repr=False)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (title, why)
    omitted: list[Omission] = field(default_factory=list)  # every piece of text not read, with its words
    warnings: list[str] = field(default_factory=list)

    def text_of(self, section: Section) -> str:
        """Everything of a section that should be spoken, for the nothing-lost check."""
        parts = ([section.title] if section.spoken_title else []) + [p.text for p in section.paras]
        return " ".join(parts)
