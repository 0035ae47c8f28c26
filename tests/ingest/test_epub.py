"""EPUB reader: structure, matter, notes, metadata, nothing lost, and every kind of bad input."""

from __future__ import annotations

import zipfile

import pytest

from pocket_batch.ingest.book import extract, read_book
from pocket_batch.ingest import epub_safety
from pocket_batch.core.config import IngestOptions
from pocket_batch.core.errors import PocketBatchError

from helpers.epubs import Doc, Epub, chapter, sample_book

CHAPTERS = ["Part One", "Chapter 1", "Chapter 2", "Chapter 3", "Chapter 4"]


def words(text: str) -> int:
    return len(text.split())


def chars(text: str) -> str:
    return "".join(text.split())


def book_of(path, **options):
    return read_book(path, words, 50, IngestOptions(**options))


def test_chapters_follow_the_toc_with_anchors_and_split_files(tmp_path):
    book = book_of(sample_book().write(tmp_path / "b.epub"))
    assert [c.title for c in book.chapters] == CHAPTERS
    texts = {c.title: " ".join(k.text for k in c.chunks) for c in book.chapters}
    assert "chapter 2" in texts["Chapter 2"] and "chapter 3" not in texts["Chapter 2"]
    assert "chapter 3" in texts["Chapter 3"]
    assert "continues in another file" in texts["Chapter 4"]  # one chapter over two files
    assert [c.id for c in book.chapters[1].chunks][:2] == ["ch002-s00001", "ch002-s00002"]


def test_epub2_with_ncx_only_gives_the_same_chapters(tmp_path):
    book = book_of(sample_book(version=2, nav=False).write(tmp_path / "b.epub"))
    assert [c.title for c in book.chapters] == CHAPTERS


def test_front_and_back_matter_skipped_by_default_and_kept_on_request(tmp_path):
    path = sample_book().write(tmp_path / "b.epub")
    skipped = dict(book_of(path).skipped)
    assert skipped == {"Cover": "cover", "Title Page": "title page", "Copyright": "copyright",
                       "Notes": "notes", "Index": "index"}
    kept = [c.title for c in book_of(path, include_front_matter=True).chapters]
    assert kept[:2] == ["Title Page", "Copyright"] and "Index" in kept


def test_metadata_for_post_processing(tmp_path):
    book = book_of(sample_book().write(tmp_path / "b.epub"))
    assert (book.title, book.author, book.language) == ("A Test Book", "Ada Example", "en")
    assert book.date == "1859"
    assert book.cover.startswith(b"\x89PNG")


def test_footnote_marks_never_read_and_notes_skipped_or_at_chapter_end(tmp_path):
    path = sample_book().write(tmp_path / "b.epub")
    ch1 = [k.text for k in book_of(path).chapters[1].chunks]
    assert "It rained all day, and the road was long." in ch1
    assert not any("Heavy rain" in t or "dusty" in t for t in ch1)
    ch1_notes = [k.text for k in book_of(path, footnotes="chapter-end").chapters[1].chunks]
    assert ch1_notes[-2:] == ["Note 1. Heavy rain, as usual.", "Note 2. A dusty road."]


@pytest.mark.parametrize("options", [{}, {"include_front_matter": True}, {"footnotes": "chapter-end"}])
def test_nothing_lost(tmp_path, options):
    path = sample_book().write(tmp_path / "b.epub")
    extracted = extract(path, IngestOptions(**options))
    book = book_of(path, **options)
    assert len(book.chapters) == len(extracted.sections)
    for read, section in zip(book.chapters, extracted.sections):
        assert chars(" ".join(k.text for k in read.chunks)) == chars(extracted.text_of(section))


def test_missing_nav_and_ncx_falls_back_to_spine_files_with_a_warning(tmp_path):
    book = book_of(Epub(docs=[Doc("a.xhtml", chapter(1)), Doc("b.xhtml", chapter(2))], nav=False, ncx=False)
                   .write(tmp_path / "b.epub"))
    assert [c.title for c in book.chapters] == ["Chapter 1", "Chapter 2"]
    assert any("no table of contents" in w for w in book.warnings)


def test_missing_title_warns_and_uses_the_file_name(tmp_path):
    book = book_of(Epub(docs=[Doc("a.xhtml", chapter(1))], title=None).write(tmp_path / "untitled.epub"))
    assert book.title == "untitled" and any("no title" in w for w in book.warnings)


def test_non_utf8_xhtml_is_read_as_cp1252_with_a_warning(tmp_path):
    raw = ('<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
           '<p>A caf\u00e9 \u2013 na\u00efve.</p></body></html>').encode("cp1252")
    book = book_of(Epub(docs=[Doc("a.xhtml", "", raw=raw)]).write(tmp_path / "b.epub"))
    assert book.chapters[0].chunks[0].text == "A caf\u00e9 \u2013 na\u00efve."
    assert any("not valid UTF-8" in w for w in book.warnings)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"just some text, not a zip"), "not an EPUB"),
    (lambda p: p.write_bytes(sample_book().write(p).read_bytes()[:3000]), "not an EPUB or truncated"),
    (lambda p: Epub(docs=[Doc("a.xhtml", chapter(1)), Doc("b.xhtml", chapter(2))], missing=("b.xhtml",)).write(p),
     "missing from the archive"),
    (lambda p: Epub(docs=[Doc("a.xhtml", "<img src='x.png'/>")]).write(p), "no readable text"),
])
def test_broken_books_fail_with_one_clear_line(tmp_path, make, message):
    path = tmp_path / "bad.epub"
    make(path)
    with pytest.raises(PocketBatchError, match=message) as info:
        book_of(path)
    assert "\n" not in str(info.value) and "bad.epub" in str(info.value)


ENCRYPTION = ('<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
              'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
              '<enc:EncryptionMethod Algorithm="{algorithm}"/><enc:CipherData>'
              '<enc:CipherReference URI="{uri}"/></enc:CipherData></enc:EncryptedData></encryption>')


def test_drm_is_refused_but_font_obfuscation_is_fine(tmp_path):
    drm = ENCRYPTION.format(algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc", uri="OEBPS/ch1.xhtml")
    fonts = ENCRYPTION.format(algorithm="http://www.idpf.org/2008/embedding", uri="OEBPS/font.otf")
    with pytest.raises(PocketBatchError, match="DRM"):
        book_of(sample_book(extra={"META-INF/encryption.xml": drm.encode()}).write(tmp_path / "drm.epub"))
    book = book_of(sample_book(extra={"META-INF/encryption.xml": fonts.encode()}).write(tmp_path / "fonts.epub"))
    assert [c.title for c in book.chapters] == CHAPTERS


def test_xml_entities_are_never_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    raw = (f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY leak SYSTEM "file://{secret}">]>'
           '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Leak: &leak;</p></body></html>').encode()
    path = Epub(docs=[Doc("a.xhtml", "", raw=raw)]).write(tmp_path / "xxe.epub")
    with pytest.raises(PocketBatchError, match="entities"):
        book_of(path)


def test_zip_bombs_refused_before_reading(tmp_path, monkeypatch):
    bomb = sample_book().write(tmp_path / "bomb.epub")
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OEBPS/filler.txt", b"\0" * (8 << 20))  # 8 MiB of zeros: ~1000x
    with pytest.raises(PocketBatchError, match="zip bomb.*expands"):
        book_of(bomb)
    monkeypatch.setattr(epub_safety, "MAX_UNCOMPRESSED", 1_000)
    with pytest.raises(PocketBatchError, match="zip bomb.*uncompressed declared"):
        book_of(sample_book().write(tmp_path / "big.epub"))


@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b"")])
def test_15_a_utf16_chapter_is_read_not_dropped(tmp_path, codec, bom):
    raw = bom + ('<?xml version="1.0" encoding="UTF-16"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
                 '<h1>Second</h1><p>A caf\u00e9 in UTF-16, read like any other.</p></body></html>').encode(codec)
    book = book_of(Epub(docs=[Doc("a.xhtml", chapter(1)), Doc("b.xhtml", "", raw=raw)],
                        toc=[("One", "a.xhtml", []), ("Second", "b.xhtml", [])]).write(tmp_path / "b.epub"))
    assert "A caf\u00e9 in UTF-16, read like any other." in [c.text for c in book.chapters[-1].chunks]
    assert not any("cp1252" in w for w in book.warnings)
