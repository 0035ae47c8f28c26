"""Books that are not EPUB: a PDF printed from a real EPUB by headless Chromium (running head, foot and page
numbers as a real PDF has them), a Word document, and a MOBI made by Calibre; each read, counted and rendered
by the random model (noise, not speech)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from pocket_batch.core.config import IngestOptions, ModelOptions, PostprocOptions, RunConfig, VerifyOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.ingest.book import read_book
from pocket_batch.pipeline.inspect import estimate_tokens
from pocket_batch.pipeline.run import render
from pocket_batch.postproc.manifest import read_manifest

from helpers.epubs import sample_book

pytestmark = [pytest.mark.slow, pytest.mark.browser]
WCAG = Path(__file__).parents[1] / "fixtures" / "books" / "wcag.epub"
XHTML = "{http://www.w3.org/1999/xhtml}"
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def print_to_pdf(epub: Path, folder: Path) -> Path:
    """The EPUB's chapters as one page printed to PDF, with Chromium's own running head (date, title) and foot
    (address, page n/N), and an outline from its headings. What the book's style hides on screen (collapsed
    descriptions) is shown, as a printed book would carry it."""
    with zipfile.ZipFile(epub) as z:
        z.extractall(folder / "book")
    bodies = []
    for name in ("WCAG-ch1-1.xhtml", "WCAG-ch1-2.xhtml"):
        body = etree.parse(folder / "book" / "EPUB" / "xhtml" / name).getroot().find(f"{XHTML}body")
        bodies.append("".join(etree.tostring(child, encoding="unicode") for child in body))
    page = folder / "book" / "print.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"/><title>World Cultures and Geography</title>'
                    '<link rel="stylesheet" href="EPUB/css/default.css"/>'
                    "<style>details, details > *, .hidden { display: block !important; }</style></head><body>"
                    + "".join(bodies).replace('src="../images/', 'src="EPUB/images/') + "</body></html>")
    pdf = folder / "wcag.pdf"
    subprocess.run([*CHROMIUM, f"--user-data-dir={folder / 'profile'}", "--generate-pdf-document-outline",
                    f"--print-to-pdf={pdf}", page.as_uri()], check=True, capture_output=True, timeout=120)
    return pdf


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    return print_to_pdf(WCAG, tmp_path_factory.mktemp("print"))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def test_a_printed_pdf_reads_as_its_epub_with_no_running_head_foot_or_page_number(pdf):
    from_pdf = read_book(pdf, estimate_tokens, 50)
    from_epub = read_book(WCAG, estimate_tokens, 50)
    assert abs(from_pdf.words_read - from_epub.words_read) <= 0.02 * from_epub.words_read
    said = " ".join(c.text for c in from_pdf.chunks)
    import pypdfium2 as pdfium

    with pdfium.PdfDocument(pdf) as document:
        pages = len(document)
        page_words = sum(len(document[n].get_textpage().get_text_range().split()) for n in range(pages))
    assert "file:///" not in said and not re.search(rf"\b\d+/\d+/\d+\b|\b\d{{1,2}}/{pages}\b", said)
    heads = [o for o in from_pdf.omitted if o.kind == "running heads"]
    assert len(heads) == 2 * pages  # a head (date, title) and a foot (address, page n/N) on every page
    # chapters from the outline, as the EPUB's table of contents has them
    titles = [c.title for c in from_pdf.chapters]
    assert "CHAPTER 1 - Welcome to the World" in titles and "SECTION 1 - The World at Your Fingertips" in titles
    # every word of the pages is read or counted as not read
    assert from_pdf.words_read + from_pdf.words_not_read == page_words


def test_the_pdf_renders_with_chapters_and_print_pages(pdf, small_model, tmp_path):
    config = RunConfig(inputs=(pdf,), output=tmp_path / "out", voice="alba", workers=0,
                       ingest=IngestOptions(chapters="4-6"), model=ModelOptions(config=small_model),
                       verify=VerifyOptions(enabled=False), postproc=PostprocOptions())
    result = render(config, show_progress=False)
    assert not result.failed
    manifest = read_manifest(result.books[0].folder)
    assert [c.title for c in manifest.chapters] == ["CHAPTER 1 - Welcome to the World", "FOCUS ON GEOGRAPHY",
                                                     "READING SOCIAL STUDIES"]
    pages = [p.page for c in manifest.chapters for p in c.pages]
    assert pages and pages == sorted(pages, key=int)  # the pages' own numbers, from their feet
    assert all(not re.search(r"file:|\d/\d", c.text) for ch in manifest.chapters for c in ch.chunks)


def test_a_pdf_without_text_is_refused_naming_its_pages(tmp_path):
    import pypdfium2 as pdfium

    scan = pdfium.PdfDocument.new()
    for _ in range(3):
        scan.new_page(595, 842)
    scan.save(tmp_path / "scan.pdf")
    with pytest.raises(PocketBatchError, match=r"scan\.pdf: no text layer on any of its 3 pages \(a scanned PDF\)"):
        read_book(tmp_path / "scan.pdf", estimate_tokens, 50)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    with pytest.raises(PocketBatchError, match=r"broken\.pdf: not a PDF pocket-batch can open"):
        read_book(tmp_path / "broken.pdf", estimate_tokens, 50)


def test_a_word_document_reads_its_headings_as_chapters_and_counts_its_header(small_model, tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("The Lighthouse Keeper", style="Title")
    document.sections[0].header.paragraphs[0].text = "The Lighthouse Keeper, a draft"
    for n, chapter in enumerate(["The Keeper", "The Storm"], start=1):
        document.add_heading(f"Chapter {n}: {chapter}", level=1)
        document.add_paragraph("The keeper climbed the stairs at dusk and lit the great lamp.")
        document.add_heading("At Night", level=2)
        document.add_paragraph("Ships passed in the night, and each one blinked its thanks.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Wind", "Force nine"
    document.save(tmp_path / "keeper.docx")
    book = read_book(tmp_path / "keeper.docx", estimate_tokens, 50)
    assert book.title == "The Lighthouse Keeper"
    assert [c.title for c in book.chapters] == ["The Lighthouse Keeper", "Chapter 1: The Keeper", "Chapter 2: The Storm"]
    assert "Force nine" in " ".join(c.text for c in book.chunks)
    assert [(o.kind, o.words) for o in book.omitted] == [("running heads", 5)]
    config = RunConfig(inputs=(tmp_path / "keeper.docx",), output=tmp_path / "out", voice="alba", workers=0,
                       model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False))
    assert not render(config, show_progress=False).failed


def test_a_mobi_made_by_calibre_is_read_through_it(small_model, tmp_path):
    epub = sample_book().write(tmp_path / "sample.epub")
    subprocess.run(["ebook-convert", str(epub), str(tmp_path / "sample.mobi")], check=True, capture_output=True,
                   timeout=300)
    from_epub, from_mobi = read_book(epub, estimate_tokens, 50), read_book(tmp_path / "sample.mobi", estimate_tokens, 50)
    assert words(" ".join(c.text for c in from_mobi.chunks))[:40] == words(" ".join(c.text for c in from_epub.chunks))[:40]
    assert any("ebook-convert" in w for w in from_mobi.warnings)
    config = RunConfig(inputs=(tmp_path / "sample.mobi",), output=tmp_path / "out", voice="alba", workers=0,
                       model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False))
    assert not render(config, show_progress=False).failed


def test_without_calibre_a_mobi_is_refused_naming_the_package(tmp_path, monkeypatch):
    (tmp_path / "book.mobi").write_bytes(b"BOOKMOBI")
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without ebook-convert
    assert shutil.which("ebook-convert") is None
    with pytest.raises(PocketBatchError, match=r"book\.mobi: reading \.mobi needs Calibre's ebook-convert \(Debian/Ubuntu: apt install calibre\)"):
        read_book(tmp_path / "book.mobi", estimate_tokens, 50)
