"""Building EPUB fixtures in code: every part of the package under the test's control."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

XHTML = ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
         'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>{title}</title></head>'
         '<body{body_type}>{body}</body></html>')


@dataclass
class Doc:
    name: str
    body: str
    epub_type: str = ""
    linear: bool = True
    raw: bytes | None = None  # exact bytes, for encoding tests


@dataclass
class Epub:
    docs: list[Doc]
    toc: list = field(default_factory=list)  # [(title, href, [children...]), ...]
    landmarks: list[tuple[str, str]] = field(default_factory=list)  # (epub:type, href)
    title: str | None = "A Test Book"
    author: str = "Ada Example"
    language: str = "en"
    date: str = "1859"
    version: int = 3  # 3: nav (and NCX); 2: NCX only
    nav: bool = True
    ncx: bool = True
    cover: bytes | None = None
    extra: dict[str, bytes] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # manifest entries whose files are left out

    def write(self, path: Path) -> Path:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
            zf.writestr("META-INF/container.xml",
                        '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                        '</rootfiles></container>')
            zf.writestr("OEBPS/content.opf", self._opf())
            for doc in self.docs:
                if doc.name in self.missing:
                    continue
                body_type = f' epub:type="{doc.epub_type}"' if doc.epub_type else ""
                zf.writestr(f"OEBPS/{doc.name}", doc.raw if doc.raw is not None else
                            XHTML.format(title=doc.name, body_type=body_type, body=doc.body))
            if self.version == 3 and self.nav:
                zf.writestr("OEBPS/nav.xhtml", self._nav())
            if self.ncx:
                zf.writestr("OEBPS/toc.ncx", self._ncx())
            if self.cover:
                zf.writestr("OEBPS/cover.png", self.cover)
            for name, data in self.extra.items():
                zf.writestr(name, data)
        return path

    def _opf(self) -> str:
        items = "".join(f'<item id="d{n}" href="{d.name}" media-type="application/xhtml+xml"/>'
                        for n, d in enumerate(self.docs))
        if self.version == 3 and self.nav:
            items += '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        if self.ncx:
            items += '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
        if self.cover:
            items += '<item id="cover-img" href="cover.png" media-type="image/png" properties="cover-image"/>'
        nonlinear = ' linear="no"'
        spine = "".join(f'<itemref idref="d{n}"{"" if d.linear else nonlinear}/>' for n, d in enumerate(self.docs))
        spine_toc = ' toc="ncx"' if self.ncx else ""
        title = f"<dc:title>{self.title}</dc:title>" if self.title else ""
        meta = '<meta name="cover" content="cover-img"/>' if self.cover else ""
        if self.version == 3:
            meta += '<meta property="dcterms:modified">2026-11-01T00:00:00Z</meta>'
        return (f'<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="{self.version}.0" '
                f'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">{title}'
                f'<dc:creator>{self.author}</dc:creator><dc:language>{self.language}</dc:language>'
                f'<dc:date>{self.date}</dc:date><dc:identifier id="id">test-book</dc:identifier>{meta}</metadata>'
                f'<manifest>{items}</manifest><spine{spine_toc}>{spine}</spine></package>')

    def _nav(self) -> str:
        def ol(entries) -> str:
            return "<ol>" + "".join(f'<li><a href="{href}">{title}</a>{ol(children) if children else ""}</li>'
                                    for title, href, children in entries) + "</ol>"

        marks = "".join(f'<li><a epub:type="{t}" href="{h}">{t}</a></li>' for t, h in self.landmarks)
        landmarks = f'<nav epub:type="landmarks"><ol>{marks}</ol></nav>' if marks else ""
        return XHTML.format(title="nav", body_type="", body=f'<nav epub:type="toc"><h1>Contents</h1>{ol(self.toc)}</nav>{landmarks}')

    def _ncx(self) -> str:
        counter = iter(range(1, 10_000))

        def points(entries) -> str:
            return "".join(f'<navPoint id="p{next(counter)}"><navLabel><text>{title}</text></navLabel>'
                           f'<content src="{href}"/>{points(children)}</navPoint>' for title, href, children in entries)

        return ('<?xml version="1.0" encoding="utf-8"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
                f'<head><meta name="dtb:uid" content="test-book"/></head><docTitle><text>{self.title}</text></docTitle><navMap>{points(self.toc)}</navMap></ncx>')


def tiny_png(size: int = 8) -> bytes:
    """A valid grey PNG, built by hand: a real cover image for the M4B's attached picture."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([128]) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def chapter(n: int, paragraphs: int = 2) -> str:
    body = "".join(f"<p>Paragraph {p} of chapter {n} tells how the travellers went on along the road. "
                   "They stopped at the inn for the night.</p>"
                   for p in range(1, paragraphs + 1))
    return f"<h1>Chapter {n}</h1>{body}"


def sample_book(**overrides) -> Epub:
    """Front matter, a nested TOC with a part, two chapters in one file (anchors), one over two files, notes."""
    docs = [
        Doc("cover.xhtml", '<img src="cover.png" alt="Cover"/>', epub_type="cover"),
        Doc("title.xhtml", "<h1>A Test Book</h1><p>Ada Example</p>", epub_type="titlepage"),
        Doc("copyright.xhtml", "<p>Copyright 1859 Ada Example. All rights reserved.</p>"),
        Doc("part1.xhtml", "<h1>Part One</h1>"),
        Doc("ch1.xhtml", chapter(1) + '<p>It rained<a epub:type="noteref" href="notes.xhtml#n1">1</a> all day, '
                         'and the road<sup><a href="#fn2">2</a></sup> was long.</p><hr/><p>Later that night they slept.</p>'
                         '<aside epub:type="footnote" id="fn2"><p>2 A dusty road.</p></aside>'),
        Doc("ch23.xhtml", '<section id="c2">' + chapter(2) + '</section><section id="c3">' + chapter(3) + "</section>"),
        Doc("ch4a.xhtml", chapter(4, 1) + "<table><tr><td>North</td><td>South</td></tr></table>"),
        Doc("ch4b.xhtml", "<p>The second half of chapter 4 continues in another file.</p>"),
        Doc("notes.xhtml", '<section epub:type="endnotes"><h1>Notes</h1><ol><li id="n1"><p>Heavy rain, as usual.</p></li></ol></section>',
            epub_type="backmatter"),
        Doc("index.xhtml", "<h1>Index</h1><p>road, 1, 4</p>", epub_type="index"),
    ]
    book = Epub(
        docs=docs,
        toc=[("Cover", "cover.xhtml", []), ("Title Page", "title.xhtml", []), ("Copyright", "copyright.xhtml", []),
             ("Part One", "part1.xhtml", [("Chapter 1", "ch1.xhtml", []), ("Chapter 2", "ch23.xhtml#c2", []),
                                          ("Chapter 3", "ch23.xhtml#c3", [])]),
             ("Chapter 4", "ch4a.xhtml", []), ("Notes", "notes.xhtml", []), ("Index", "index.xhtml", [])],
        landmarks=[("cover", "cover.xhtml"), ("bodymatter", "ch1.xhtml")],
        cover=tiny_png(),
    )
    for key, value in overrides.items():
        setattr(book, key, value)
    return book


def large_book(chapters: int = 60) -> Epub:
    """About 1 MB of real English prose (Python's bundled help pages) in `chapters` chapters."""
    import html
    import re

    from pydoc_data.topics import topics

    text = " ".join(topics[name] for name in sorted(topics))
    sentences = [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) > 3]
    per = len(sentences) // chapters
    docs = []
    for n in range(chapters):
        part = sentences[n * per:(n + 1) * per]
        paras = "".join(f"<p>{html.escape(' '.join(part[i:i + 5]))}</p>" for i in range(0, len(part), 5))
        docs.append(Doc(f"c{n + 1}.xhtml", f"<h1>Chapter {n + 1}</h1>{paras}"))
    toc = [(f"Chapter {n + 1}", f"c{n + 1}.xhtml", []) for n in range(chapters)]
    return Epub(docs=docs, toc=toc, title="Large Sample")


MATHML = "http://www.w3.org/1998/Math/MathML"


def notes_and_math_book(**overrides) -> Epub:
    """A poem with the author's own rear notes, a chapter of math with alttext, an image, a pop-up outside the spine's order."""
    poem = "".join(f"<p>Line {n} of the poem speaks of the river and the stone.</p>" for n in range(1, 9))
    notes = "".join(f"<p>Line {n}. The river here recalls an older song, and the stone an older grave.</p>"
                    for n in range(1, 13))
    math = (f'<h1>Vectors</h1><p>Let <math xmlns="{MATHML}" alttext="v equals a plus b"><mi>v</mi><mo>=</mo><mi>a</mi>'
            f'<mo>+</mo><mi>b</mi></math> be the sum of two vectors.</p>'
            f'<p>Then <math xmlns="{MATHML}" alttext="v minus b equals a"><mi>v</mi></math> as well.</p>'
            f'<p>A third one has no alttext: <math xmlns="{MATHML}"><mi>x</mi><mo>+</mo><mi>y</mi></math> here.</p>'
            '<p><img src="cover.png" alt="A diagram of two arrows meeting at a point"/></p>')
    book = Epub(
        docs=[Doc("poem.xhtml", "<h1>The Poem</h1>" + poem),
              Doc("notes.xhtml", f'<section epub:type="rearnotes"><h1>Notes on the Poem</h1>{notes}</section>'),
              Doc("math.xhtml", math),
              Doc("answers.xhtml", "<p>The answer to the first exercise is seven, as the reader may check.</p>",
                  linear=False)],
        toc=[("The Poem", "poem.xhtml", []), ("Notes on the Poem", "notes.xhtml", []), ("Vectors", "math.xhtml", [])],
        cover=tiny_png(),
    )
    for key, value in overrides.items():
        setattr(book, key, value)
    return book
