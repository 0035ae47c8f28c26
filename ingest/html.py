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
BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "td", "th", "figcaption",
              "caption", "pre", "blockquote", "div", "section", "article", "header", "footer", "aside",
              "table", "tr", "ul", "ol", "dl", "figure", "main", "body", "tbody", "thead", "center"}
SILENT_TAGS = {"script", "style", "head", "img", "svg", "math", "audio", "video", "object", "nav",
               "rt", "rp", "noscript", "template"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
NOTE_MARK = re.compile(r"^\W?(\d{1,3}|[ivxlc]{1,5}|[a-z]|[*\u2020\u2021\u00a7\u00b6]+)\W?$", re.I)
PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False,
                         huge_tree=False, remove_comments=True, remove_pis=True)


@dataclass
class Event:
    kind: str  # "anchor" | "block" | "break" | "noteref"
    value: str = ""
    heading: bool = False


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


def events(root, note_ids: set[str]) -> list[Event]:
    out: list[Event] = []
    body = next(root.iter("{*}body"), root)
    _walk(body, note_ids, out)
    return out


def _walk(el, note_ids: set[str], out: list[Event]) -> None:
    tag = local(el)
    if is_noteref(el):
        out.append(Event("noteref", _target(el)))
        return
    if tag in SILENT_TAGS or is_note(el, note_ids):
        return
    if el.get("id"):
        out.append(Event("anchor", el.get("id")))
    if tag == "hr":
        out.append(Event("break"))
        return
    if tag not in BLOCK_TAGS or not any(local(c) in BLOCK_TAGS or local(c) == "hr" for c in el):
        if tag in BLOCK_TAGS:
            _marks_inside(el, out, "anchor")  # a chapter starting inside a block starts before its text
            _emit(out, inline_text(el, note_ids), tag in HEADINGS)
            _marks_inside(el, out, "noteref")
        return
    # A container: loose text between its block children is a block of its own.
    loose = [el.text or ""]
    for child in el:
        if local(child) in BLOCK_TAGS or local(child) == "hr":
            _emit(out, "".join(loose), False)
            loose = []
            _walk(child, note_ids, out)
        elif not (local(child) in SILENT_TAGS or is_noteref(child) or is_note(child, note_ids)):
            _marks_inside(child, out, "anchor")
            loose.append(inline_text(child, note_ids))
            _marks_inside(child, out, "noteref")
        elif is_noteref(child):
            out.append(Event("noteref", _target(child)))
        loose.append(child.tail or "")
    _emit(out, "".join(loose), False)


def _marks_inside(el, out: list[Event], kind: str) -> None:
    """Anchors (possible chapter starts) or reference marks inside an element."""
    for inner in el.iterdescendants():
        if not isinstance(inner.tag, str):
            continue
        if kind == "noteref" and local(inner) == "a" and is_noteref(inner):
            out.append(Event("noteref", _target(inner)))
        elif kind == "anchor" and inner.get("id"):
            out.append(Event("anchor", inner.get("id")))


def _target(el) -> str:
    a = el if local(el) == "a" else next(el.iter("{*}a"), el)
    href = a.get("href", "")
    return href.split("#", 1)[1] if "#" in href else href


def _emit(out: list[Event], text: str, heading: bool) -> None:
    text = " ".join(text.split())
    if text:
        out.append(Event("block", text, heading))


def inline_text(el, note_ids: set[str] = frozenset()) -> str:
    """Text of an element without reference marks, notes or silent elements, keeping tails."""
    parts = [el.text or ""]
    for child in el:
        if not (local(child) in SILENT_TAGS or is_noteref(child) or is_note(child, note_ids)):
            text = inline_text(child, note_ids)
            parts.append(f" {text} " if local(child) in {"br", "td", "th", "li"} or local(child) in BLOCK_TAGS else text)
        parts.append(child.tail or "")
    return "".join(parts)


def note_texts(root, note_ids: set[str]) -> dict[str, str]:
    """id -> text of every note in a document (typed notes and targets of reference marks)."""
    notes = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") and is_note(el, note_ids) and not (epub_types(el) & {"footnotes", "endnotes", "rearnotes"}):
            text = " ".join(inline_text(el).split())
            text = re.sub(r"^\W*(\d{1,3}|[*\u2020\u2021]+)\W*\s", "", text)  # the note's own number
            if text:
                notes[el.get("id")] = text
    return notes
