"""XHTML content documents into a flat stream of anchors, text blocks and breaks.

Parsed with entities, DTDs and the network all off. Footnote reference marks
are dropped where they stand; the notes themselves are set aside by id, so
they are never read in the middle of a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

OPS = "http://www.idpf.org/2007/ops"
NOTE_TYPES = {"footnote", "endnote", "rearnote", "note", "footnotes", "endnotes", "rearnotes"}
NOTE_CONTAINERS = {"footnotes", "endnotes", "rearnotes"}
BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "td", "th", "figcaption",
              "caption", "pre", "blockquote", "div", "section", "article", "header", "footer", "aside",
              "table", "tr", "ul", "ol", "dl", "figure", "main", "body", "tbody", "thead", "center"}
SILENT_TAGS = {"script", "style", "head", "img", "svg", "math", "audio", "video", "object", "nav",
               "rt", "rp", "noscript", "template"}
MATH_TOKENS = {"mi", "mn", "mo", "mtext", "ms"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Print page numbers: the EPUB accessibility convention (epub:type="pagebreak", role="doc-pagebreak").
PAGE_BREAKS = {"pagebreak"}
# Line and verse numbers beside a poem or a play: the class names books use for them, and z3998's type.
LINE_NUMBER_CLASSES = {"lnum", "linenum", "line-num", "linenumber", "line-number", "lineno", "line-no", "linenr",
                       "verse-num", "versenum", "verse-number"}
LINE_NUMBER_TYPES = {"z3998:line-number", "linenum"}
SET_ASIDE = re.compile(r"float\s*:\s*(left|right)|position\s*:\s*absolute", re.I)
NOTE_MARK = re.compile(r"^\W?(\d{1,3}|[ivxlc]{1,5}|[a-z]|[*\u2020\u2021\u00a7\u00b6]+)\W?$", re.I)
PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False,
                         huge_tree=False, remove_comments=True, remove_pis=True)


@dataclass
class Event:
    kind: str  # "anchor" | "block" | "break" | "noteref" | "omit"
    value: str = ""
    heading: bool = False
    words: int = 0  # "omit": how many words were left out, and `value` is their kind
    detail: str = ""  # "omit": what was left out (a note's id, the start of an alt text)


@dataclass
class Document:
    name: str
    root: etree._Element
    types: set[str] = field(default_factory=set)  # epub:type of body and its first section


def local(el) -> str:
    return etree.QName(el).localname.lower() if isinstance(el.tag, str) else ""


def epub_types(el) -> set[str]:
    return set((el.get(f"{{{OPS}}}type") or "").split()) | set((el.get("role") or "").replace("doc-", "").split())


def parse_xhtml(data: bytes) -> etree._Element | None:
    return etree.fromstring(data, PARSER) if data.strip() else None


def is_line_number(el) -> bool:
    """A line or verse number set beside the text, holding only a number: by its class or type, or an inline
    element set aside by its own style (floated or absolutely positioned)."""
    marked = set((el.get("class") or "").lower().split()) & LINE_NUMBER_CLASSES or epub_types(el) & LINE_NUMBER_TYPES
    if not marked and local(el) in ("span", "small", "sup", "div"):
        marked = bool(SET_ASIDE.search(el.get("style") or ""))
    return bool(marked) and bool(re.fullmatch(r"\W*(\d{1,5}|[ivxlc]{1,8})\W*", "".join(el.itertext()).strip(), re.I))


def noteref_targets(root) -> set[str]:
    """Ids that reference marks in this document point at (with or without epub:type)."""
    return {_target(a) for a in root.iter("{*}a") if is_noteref(a)}


def is_noteref(el) -> bool:
    if local(el) == "sup" and len(el) == 1 and local(el[0]) == "a" and not (el.text or "").strip():
        return is_noteref(el[0])
    if local(el) != "a":
        return False
    if "noteref" in epub_types(el):
        return True
    text = "".join(el.itertext()).strip()
    in_sup = local(el.getparent()) == "sup" if el.getparent() is not None else False
    return "#" in el.get("href", "") and bool(NOTE_MARK.match(text)) and (in_sup or any(local(c) == "sup" for c in el))


def is_note(el, note_ids: set[str]) -> bool:
    """A typed note, a reference mark's target, or a block opening with such a target."""
    if epub_types(el) & NOTE_TYPES:
        return True
    if local(el) in {"body", "section"} or not note_ids:
        return False
    if el.get("id") in note_ids:
        return True
    first = next((c for c in el if isinstance(c.tag, str)), None)
    return (local(el) in BLOCK_TAGS and first is not None and first.get("id") in note_ids
            and not (el.text or "").strip())


def word_count(text: str) -> int:
    return len(text.split())


def formula_words(math) -> int:
    """A MathML formula's spoken length: one word per identifier, number and operator, and its text's words;
    an annotation (its TeX source, say) is not part of it."""
    return sum(word_count(el.text or "") if local(el) in ("mtext", "ms") else int(bool((el.text or "").strip()))
               for el in math.iter() if local(el) in MATH_TOKENS
               and not any(local(a) in ("annotation", "annotation-xml") for a in el.iterancestors()))


@dataclass
class Reading:
    """What a content document's walk reads aloud beyond its running text."""

    note_ids: set[str] = field(default_factory=set)
    math: str = "skip"  # or "alttext": a MathML expression's own alttext, where it has one
    image_alt: str = "skip"  # or "read": an image's alt text, as a sentence of its own


class Walker:
    """A document body into a flat list of events; whatever is not read becomes an "omit" event."""

    def __init__(self, reading: Reading):
        self.reading = reading
        self.out: list[Event] = []

    def events(self, root) -> list[Event]:
        self.out = []
        self._walk(next(root.iter("{*}body"), root))
        return self.out

    def _walk(self, el) -> None:
        tag = local(el)
        if is_noteref(el):
            self.out.append(Event("noteref", _target(el)))
            return
        if self._silent(el):
            return
        if el.get("id"):
            self.out.append(Event("anchor", el.get("id")))
        if tag == "hr":
            self.out.append(Event("break"))
            return
        if tag not in BLOCK_TAGS or not any(local(c) in BLOCK_TAGS or local(c) == "hr" for c in el):
            if tag in BLOCK_TAGS:
                self._marks_inside(el, "anchor")  # a chapter starting inside a block starts before its text
                self._emit(self.inline_text(el), tag in HEADINGS)
                self._marks_inside(el, "noteref")
            return
        # A container: loose text between its block children is a block of its own.
        first = len(self.out)
        loose = [el.text or ""]
        for child in el:
            if local(child) in BLOCK_TAGS or local(child) == "hr":
                self._emit("".join(loose), False)
                loose = []
                self._walk(child)
            elif is_noteref(child):
                self.out.append(Event("noteref", _target(child)))
            elif not self._silent(child):
                self._marks_inside(child, "anchor")
                loose.append(self.inline_text(child))
                self._marks_inside(child, "noteref")
            loose.append(child.tail or "")
        self._emit("".join(loose), False)
        if voice := el.get("data-pocket-voice"):  # a section in a voice: each block in it not given one of its own
            for event in self.out[first:]:
                if event.kind == "block" and "[voice:" not in event.value:
                    event.value = f"[voice: {voice}] {event.value} [/voice]"

    def _silent(self, el) -> bool:
        """Not read as running text: reports what it leaves out, and says whether to skip `el`."""
        tag = local(el)
        if is_note(el, self.reading.note_ids):
            self._omit_notes(el)
        elif epub_types(el) & PAGE_BREAKS:  # each listed, an empty marker too: its number is in an attribute
            text = " ".join(" ".join(el.itertext()).split())
            page = el.get("title") or el.get("aria-label") or text
            self.out.append(Event("omit", "page numbers", words=word_count(text), detail=page[:40]))
        elif is_line_number(el):
            text = " ".join(el.itertext()).strip()
            self.out.append(Event("omit", "line numbers", words=word_count(text), detail=text))
        elif tag == "math":
            alt = " ".join((el.get("alttext") or "").split())
            if alt and self.reading.math == "alttext":
                return False  # read by inline_text
            # Counted by its own words, or its alttext's if more: a placeholder alttext ("Alternative text not
            # available") is four words for any formula.
            self.omit("math", max(formula_words(el), word_count(alt)), alt[:40])
        elif tag == "img":
            alt = " ".join((el.get("alt") or "").split())
            if alt and self.reading.image_alt == "read":
                return False
            if alt:
                self.omit("image text", word_count(alt), alt[:40])
        elif tag not in SILENT_TAGS:
            return False
        return True

    def _omit_notes(self, el) -> None:
        """Each note by its id (so one read at its chapter's end can be struck off), then the rest."""
        ids = [d for d in el.iter() if isinstance(d.tag, str) and d.get("id") and is_note(d, self.reading.note_ids)
               and not epub_types(d) & NOTE_CONTAINERS] if epub_types(el) & NOTE_CONTAINERS else [el]
        counted = 0
        for note in ids:
            words = word_count(" ".join(note.itertext()))
            self.omit("notes", words, note.get("id") or "")
            counted += words
        self.omit("notes", word_count(" ".join(el.itertext())) - counted)

    def omit(self, kind: str, words: int, detail: str = "") -> None:
        if words:
            self.out.append(Event("omit", kind, words=words, detail=detail))

    def _marks_inside(self, el, kind: str) -> None:
        """Anchors (possible chapter starts) or reference marks inside an element."""
        for inner in el.iterdescendants():
            if not isinstance(inner.tag, str):
                continue
            if kind == "noteref" and local(inner) == "a" and is_noteref(inner):
                self.out.append(Event("noteref", _target(inner)))
            elif kind == "anchor" and inner.get("id"):
                self.out.append(Event("anchor", inner.get("id")))

    def _emit(self, text: str, heading: bool) -> None:
        text = " ".join(text.split())
        if text:
            self.out.append(Event("block", text, heading))

    def inline_text(self, el) -> str:
        """Text of an element without reference marks, notes or silent elements, keeping tails."""
        tag = local(el)
        if tag == "math":
            return f" {el.get('alttext')} "
        if tag == "img":
            return f" {el.get('alt')}. "
        if el.get("data-pocket-pause"):  # the attribute forms of the text's marks (ingest/marks.py)
            return f" [pause {el.get('data-pocket-pause')}] "
        text = self._text(el)
        if el.get("data-pocket-say"):
            return f"[{text}](say: {el.get('data-pocket-say')})"
        if el.get("data-pocket-voice"):
            return f" [voice: {el.get('data-pocket-voice')}] {text} [/voice] "
        return text

    def _text(self, el) -> str:
        parts = [el.text or ""]
        for child in el:
            if not (is_noteref(child) or self._silent(child)):
                text = self.inline_text(child)
                parts.append(f" {text} " if local(child) in {"br", "td", "th", "li"} or local(child) in BLOCK_TAGS else text)
            parts.append(child.tail or "")
        return "".join(parts)


def events(root, reading: Reading) -> list[Event]:
    return Walker(reading).events(root)


def _target(el) -> str:
    a = el if local(el) == "a" else next(el.iter("{*}a"), el)
    href = a.get("href", "")
    return href.split("#", 1)[1] if "#" in href else href


def inline_text(el, note_ids: set[str] = frozenset()) -> str:
    """An element's text as it is read, with nothing reported (a note's own text)."""
    return Walker(Reading(set(note_ids))).inline_text(el)


def note_texts(root, note_ids: set[str]) -> dict[str, str]:
    """id -> text of every note in a document (typed notes and targets of reference marks)."""
    notes = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") and is_note(el, note_ids) and not (epub_types(el) & NOTE_CONTAINERS):
            text = " ".join(inline_text(el).split())
            text = re.sub(r"^\W*(\d{1,3}|[*\u2020\u2021]+)\W*\s", "", text)  # the note's own number
            if text:
                notes[el.get("id")] = text
    return notes
