"""An EPUB 3 package held in memory: its files by zip path, the OPF as a tree, written back deterministically.

Files nobody changes keep their exact bytes; the zip is written with `mimetype` first and
stored, fixed timestamps and a fixed order, so the same inputs give the same bytes.
"""

from __future__ import annotations

import posixpath
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
        meta.text, meta.tail = value, "\n"

    def meta(self, prop: str) -> str | None:
        return next((m.text for m in self.el("metadata").iter(f"{{{OPF}}}meta") if m.get("property") == prop), None)

    def write(self, target: Path) -> None:
        self.files[self.opf_path] = etree.tostring(self.opf, xml_declaration=True, encoding="utf-8")
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
