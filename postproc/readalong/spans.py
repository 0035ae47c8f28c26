"""Finding a chunk's text in an XHTML document and wrapping it in one `<span id>` without breaking the markup.

A document's read text is a stream of text slots (an element's text or its tail), the same
text `ingest.html` reads: reference marks, notes, comments and silent elements are left out.
Positions count only non-space characters, so `<br/>`, line breaks and inline tags between
words never stop a chunk from being found.

A chunk that starts or ends inside an inline element (`<em>`, `<a>`) gets its span by splitting
that element in two at the chunk's edge: the text stays where it was, in the same order and the
same formatting, and only the first half keeps the element's id.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from lxml import etree

from pocket_batch.ingest import html


@dataclass(frozen=True)
class Slot:
    node: etree._Element
    tail: bool  # the node's tail (text after it), else its text

    @property
    def text(self) -> str:
        return (self.node.tail if self.tail else self.node.text) or ""

    @property
    def parent(self) -> etree._Element:
        """The element the slot's text lies in."""
        return self.node.getparent() if self.tail else self.node


@dataclass
class Stream:
    """The read text under `root`, as slots, and its non-space characters end to end."""

    root: etree._Element
    reading: html.Reading = field(default_factory=html.Reading)
    slots: list[Slot] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # each slot's first position
    indices: list[list[int]] = field(default_factory=list)  # each slot's non-space characters, by index in it
    ids: dict[str, int] = field(default_factory=dict)  # an element's id -> the position where it begins
    text: str = ""

    def __post_init__(self) -> None:
        chars: list[str] = []
        self._walk(self.root, chars, own=True)
        self.text = "".join(chars)

    def _walk(self, el, chars: list[str], own: bool = False) -> None:
        if el.get("id"):
            self.ids.setdefault(el.get("id"), len(chars))
        if not own and self.skipped(el):
            return
        self._add(Slot(el, False), chars)
        for child in el:
            if isinstance(child.tag, str):
                self._walk(child, chars)
            self._add(Slot(child, True), chars)

    def skipped(self, el) -> bool:
        """Not read where it stands: reference marks, notes, silent elements, images and math (even when an
        alt text is read, it is not text of the document)."""
        return (html.is_noteref(el) or html.is_note(el, self.reading.note_ids)
                or html.local(el) in html.SILENT_TAGS | {"math", "img"})

    def _add(self, slot: Slot, chars: list[str]) -> None:
        text = slot.text
        indices = [i for i, c in enumerate(text) if not c.isspace()]
        if indices:
            self.slots.append(slot)
            self.starts.append(len(chars))
            self.indices.append(indices)
            chars.extend(text[i] for i in indices)

    def point(self, position: int, end: bool = False) -> tuple[Slot, int]:
        """The slot and character offset before non-space character `position`, or just after it (`end`)."""
        n = bisect_right(self.starts, position) - 1
        index = self.indices[n][position - self.starts[n]]
        return self.slots[n], index + 1 if end else index


def nonspace(text: str) -> str:
    return "".join(text.split())


def read_text(el, reading: html.Reading = html.Reading()) -> str:
    """The words of an element as a reader hears them: its stream's slots, whitespace collapsed
    (a line break or a block between two words parts them, as in `ingest.html`)."""
    parts = []
    for slot in Stream(el, reading).slots:
        if slot.tail and html.local(slot.node) in html.BLOCK_TAGS | {"br"}:
            parts.append(" ")
        parts.append(slot.text)
    return " ".join("".join(parts).split())


def wrap(stream: Stream, start: int, end: int, span_id: str) -> etree._Element | None:
    """Wrap non-space positions [start, end) of `stream` in a new `<span id=span_id>`; None when they cross
    a block (a paragraph's end), which no span may do.

    Only text at or after `start` changes, so wrapping a document's chunks from its last to its first
    needs one stream.
    """
    first, first_at = stream.point(start)
    last, last_at = stream.point(end - 1, end=True)
    common = _common_ancestor(first.parent, last.parent)
    if common is None or _crosses_block(first.parent, common) or _crosses_block(last.parent, common):
        return None
    end_mark = _mark(last, last_at)  # the later mark first: the earlier slot's offset stays true
    start_mark = _mark(first, first_at)
    while start_mark.getparent() is not common:
        _lift_start(start_mark)
    while end_mark.getparent() is not common:
        _lift_end(end_mark)
    namespace = etree.QName(common).namespace
    span = etree.Element(f"{{{namespace}}}span" if namespace else "span")
    span.set("id", span_id)
    span.text, start_mark.tail = start_mark.tail, None
    while (node := start_mark.getnext()) is not end_mark:
        span.append(node)  # an element moves with its tail
    common.replace(start_mark, span)
    span.tail = end_mark.tail
    common.remove(end_mark)
    return span


def _mark(slot: Slot, offset: int) -> etree._Element:
    """An empty element inserted at `offset` of a slot's text."""
    text, mark = slot.text, etree.Element("mark")
    if slot.tail:
        slot.node.addnext(mark)  # the node keeps its tail: the mark comes after it
        slot.node.tail, mark.tail = text[:offset], text[offset:]
    else:
        slot.node.text, mark.tail = text[:offset], text[offset:]
        slot.node.insert(0, mark)
    return mark


def _common_ancestor(a, b):
    ancestors = {id(el) for el in a.iterancestors()} | {id(a)}
    return next((el for el in [b, *b.iterancestors()] if id(el) in ancestors), None)


def _crosses_block(el, common) -> bool:
    while el is not common:
        if html.local(el) in html.BLOCK_TAGS:
            return True
        el = el.getparent()
    return False


def _lift_start(mark) -> None:
    """Move a start mark up one level, splitting its parent when text or elements come before the mark."""
    parent = mark.getparent()
    after, mark.tail = mark.tail, None
    if parent.index(mark) == 0 and not parent.text:
        parent.text = after
        parent.addprevious(mark)
    else:
        _split_after(mark, after)


def _lift_end(mark) -> None:
    """Move an end mark up one level, splitting its parent when text or elements follow the mark."""
    parent = mark.getparent()
    after, mark.tail = mark.tail, None
    if not after and mark.getnext() is None:
        parent.remove(mark)
        mark.tail, parent.tail = parent.tail, None
        parent.addnext(mark)
    else:
        _split_after(mark, after)


def _split_after(mark, after: str | None) -> None:
    """Split the mark's parent in two at the mark, which ends up between the halves: `after` (the text that
    followed the mark) and the elements after it open the second half."""
    parent = mark.getparent()
    rest = _clone(parent)
    rest.text = after
    for node in list(mark.itersiblings()):
        rest.append(node)
    rest.tail, parent.tail = parent.tail, None
    parent.remove(mark)
    parent.addnext(rest)
    rest.addprevious(mark)


def _clone(el) -> etree._Element:
    """An empty element of the same kind and attributes, without the id (ids stay unique)."""
    return etree.Element(el.tag, {k: v for k, v in el.attrib.items() if k != "id"})
