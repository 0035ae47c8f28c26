"""An EPUB 3 package held in memory: its files by zip path, the OPF as a tree, written back deterministically.

Files nobody changes keep their exact bytes; the zip is written with `mimetype` first and
stored, fixed timestamps and a fixed order, so the same inputs give the same bytes.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote

from lxml import etree

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import atomic_path

OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
STRICT = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
XML_FILES = (".xhtml", ".html", ".htm", ".opf", ".smil", ".ncx", ".xml")
SMIL = "application/smil+xml"
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # characters XML 1.0 forbids
STORED = (".mp3", ".m4a", ".mp4", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2")  # compressed already


def container_xml(opf_path: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<container version="1.0" xmlns="{CONTAINER}"><rootfiles>'
            f'<rootfile full-path="{opf_path}" media-type="application/oebps-package+xml"/></rootfiles></container>\n'
            ).encode()


class Package:
    """Files by zip path (in their original order) and the package document, parsed. A file is its bytes, or
    a path on disk for one too large to hold (a chapter's audio), copied into the zip as it is written."""

    def __init__(self, files: dict[str, bytes | Path], name: str):
        self.files, self.name = files, name
        try:
            container = etree.fromstring(files["META-INF/container.xml"], STRICT)
            self.opf_path = container.find(f".//{{{CONTAINER}}}rootfile").get("full-path")
            self.opf = etree.fromstring(files[self.opf_path], STRICT)
        except (KeyError, AttributeError, etree.XMLSyntaxError) as exc:
            raise PocketBatchError(f"{name}: no readable package document ({type(exc).__name__})") from None
        self.base = posixpath.dirname(self.opf_path)
        self.original = dict(files)  # what came in: files left as they are are not checked again on writing

    @classmethod
    def read(cls, path: Path) -> Package:
        with zipfile.ZipFile(path) as zf:
            return cls({info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}, str(path))

    @property
    def version(self) -> str:
        return self.opf.get("version", "")

    def el(self, name: str) -> etree._Element:
        found = self.opf.find(f"{{{OPF}}}{name}")
        if found is None:
            raise PocketBatchError(f"{self.name}: the package document has no <{name}>")
        return found

    def items(self) -> dict[str, etree._Element]:
        return {item.get("id"): item for item in self.el("manifest").iter(f"{{{OPF}}}item")}

    def path_of(self, item) -> str:
        """An item's zip path (its href is relative to the package document, URL-encoded)."""
        return posixpath.normpath(posixpath.join(self.base, unquote(item.get("href", ""))))

    def spine_documents(self) -> list[etree._Element]:
        """Linear XHTML items of the spine, in reading order."""
        items = self.items()
        return [items[ref.get("idref")] for ref in self.el("spine").iter(f"{{{OPF}}}itemref")
                if ref.get("idref") in items and ref.get("linear") != "no"
                and items[ref.get("idref")].get("media-type") == "application/xhtml+xml"]

    def free_id(self, wanted: str) -> str:
        """An item id no item of the package has yet: generated names never take an author's."""
        return free_name(wanted, self.items())

    def free_folder(self, wanted: str) -> str:
        """A folder beside the package document that holds none of its files."""
        taken = {path.removeprefix(f"{self.base}/" if self.base else "").split("/", 1)[0] for path in self.files}
        return free_name(wanted, taken)

    def remove_overlays(self) -> int:
        """Media overlays the book already has (a read-along book narrated again): their SMIL files, items,
        durations and links; returns how many."""
        overlays = [item for item in self.items().values() if item.get("media-type") == SMIL]
        if not overlays:
            return 0
        ids = {item.get("id") for item in overlays}
        targets: dict[str, set[str]] = {}  # document -> ids of the elements its overlay highlighted
        for item in overlays:
            smil = self.path_of(item)
            try:
                for text in etree.fromstring(self.files.pop(smil, b""), STRICT).iter("{*}text"):
                    href, _, target = text.get("src", "").partition("#")
                    targets.setdefault(posixpath.normpath(posixpath.join(posixpath.dirname(smil), unquote(href))),
                                       set()).add(target)
            except etree.XMLSyntaxError:
                pass  # an overlay that does not parse highlights nothing
            item.getparent().remove(item)
        for path, highlighted in targets.items():
            self._unwrap_spans(path, highlighted)
        for item in self.items().values():
            if item.get("media-overlay") in ids:
                del item.attrib["media-overlay"]
        for meta in list(self.el("metadata").iter(f"{{{OPF}}}meta")):
            refines = (meta.get("refines") or "").removeprefix("#")
            if meta.get("property", "").startswith("media:") and (not refines or refines in ids):
                meta.getparent().remove(meta)  # the book's and each removed overlay's durations, narrator, style
        return len(overlays)

    def _unwrap_spans(self, path: str, ids: set[str]) -> None:
        """The document with the spans an earlier overlay highlighted taken away, their text kept where it is:
        the text as its author wrote it, ready for new spans."""
        try:
            root = etree.fromstring(self.files[path], STRICT)
        except (KeyError, etree.XMLSyntaxError):
            return
        spans = [el for el in root.iter("{*}span") if el.get("id") in ids]
        for span in spans:
            parent, before, children, tail = span.getparent(), span.getprevious(), list(span), span.tail or ""
            _append_text(parent, before, span.text or "")
            at = parent.index(span)
            for n, child in enumerate(children):
                parent.insert(at + n, child)
            parent.remove(span)
            _append_text(parent, children[-1] if children else before, tail)
        if spans:
            self.files[path] = etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")

    def href(self, path: str, start: str | None = None) -> str:
        """A zip path as a URL relative to the directory of `start` (default: the package document)."""
        base = posixpath.dirname(start) if start is not None else self.base
        return quote(posixpath.relpath(path, base or "."))

    def add_item(self, item_id: str, path: str, media_type: str, **attrs: str) -> None:
        item = etree.SubElement(self.el("manifest"), f"{{{OPF}}}item", id=item_id, href=self.href(path),
                                **{"media-type": media_type, **attrs})
        item.tail = "\n"

    def set_meta(self, prop: str, value: str, refines: str | None = None) -> None:
        """One `<meta property>` (per refined id), replacing any the package had."""
        metadata = self.el("metadata")
        for meta in metadata.iter(f"{{{OPF}}}meta"):
            if meta.get("property") == prop and meta.get("refines") == refines:
                metadata.remove(meta)
                break
        meta = etree.SubElement(metadata, f"{{{OPF}}}meta", property=prop, **({"refines": refines} if refines else {}))
        meta.text, meta.tail = xml_text(value), "\n"

    def meta(self, prop: str) -> str | None:
        return next((m.text for m in self.el("metadata").iter(f"{{{OPF}}}meta") if m.get("property") == prop), None)

    def write(self, target: Path) -> None:
        """The book, once every XML file made or changed for it is well formed: none is published broken."""
        self.files[self.opf_path] = etree.tostring(self.opf, xml_declaration=True, encoding="utf-8")
        for path, data in self.files.items():
            if path.lower().endswith(XML_FILES) and isinstance(data, bytes) and data is not self.original.get(path):
                try:
                    etree.fromstring(data, STRICT)
                except etree.XMLSyntaxError as exc:
                    raise PocketBatchError(f"{self.name}: the read-along book's {path} would not be well-formed XML "
                                           f"({exc}); it is not written") from None
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr(zipfile.ZipInfo("mimetype", ZIP_TIME), b"application/epub+zip", zipfile.ZIP_STORED)
            for path, data in self.files.items():
                if path == "mimetype":
                    continue
                info = zipfile.ZipInfo(path, ZIP_TIME)
                info.compress_type = zipfile.ZIP_STORED if path.lower().endswith(STORED) else zipfile.ZIP_DEFLATED
                if isinstance(data, Path):
                    with open(data, "rb") as source, zf.open(info, "w") as sink:
                        shutil.copyfileobj(source, sink, 1 << 20)
                else:
                    zf.writestr(info, data)


def free_name(wanted: str, taken) -> str:
    n, candidate = 1, wanted
    while candidate in taken:
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


def xml_text(text: str) -> str:
    """Text as XML may hold it: characters XML 1.0 forbids (a DOS end-of-file, \\x01 in a title) dropped."""
    return NOT_XML.sub("", text)


def _append_text(parent: etree._Element, before: etree._Element | None, text: str) -> None:
    """Text placed after `before` (or at the start of `parent`)."""
    if before is None:
        parent.text = (parent.text or "") + text
    else:
        before.tail = (before.tail or "") + text
