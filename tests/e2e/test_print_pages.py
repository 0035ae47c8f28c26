"""Page numbers and line numbers are not read, and print pages stay findable: a real EPUB with page-break
markers and a page list (IDPF epub3-samples' WCAG, tests/fixtures/books) and a poem with line numbers set
beside its verse, rendered by the random model (noise, not speech)."""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from pocket_batch.core.config import IngestOptions, ModelOptions, PostprocOptions, RunConfig, VerifyOptions
from pocket_batch.pipeline.inspect import inspect_book
from pocket_batch.pipeline.run import render
from pocket_batch.postproc.manifest import read_manifest

from helpers.check_epub import epubcheck_all
from helpers.epubs import Doc, sample_book

pytestmark = pytest.mark.slow
WCAG = Path(__file__).parents[1] / "fixtures" / "books" / "wcag.epub"
OPS = "{http://www.idpf.org/2007/ops}"
# Wordsworth, "I Wandered Lonely as a Cloud" (1807): its numbers set beside the verse the ways books do.
VERSE = ["I wandered lonely as a cloud", "That floats on high o'er vales and hills,",
         "When all at once I saw a crowd,", "A host, of golden daffodils;", "Beside the lake, beneath the trees,",
         "Fluttering and dancing in the breeze.", "Continuous as the stars that shine",
         "And twinkle on the milky way,", "They stretched in never-ending line", "Along the margin of a bay:"]
MARKS = {5: '<span class="lnum">5</span>', 10: '<span style="float: right">10</span>',
         3: '<span epub:type="z3998:line-number">3</span>', 8: '<span class="linenum" style="position:absolute">8</span>'}


def poem() -> str:
    lines = "".join(f'<p class="verse">{line}{MARKS.get(n, "")}</p>' for n, line in enumerate(VERSE, start=1))
    return f"<h1>I. Daffodils</h1>{lines}"


@pytest.fixture(scope="module")
def rendered(small_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    poem_path = sample_book(docs=[Doc("daffodils.xhtml", poem())], toc=[("I. Daffodils", "daffodils.xhtml", [])],
                            landmarks=[]).write(folder / "daffodils.epub")
    outputs = {}
    for source, chapters in ((WCAG, "1-3"), (poem_path, None)):
        config = RunConfig(inputs=(source,), output=folder / source.stem, voice="alba", workers=0,
                           ingest=IngestOptions(chapters=chapters),
                           model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False),
                           postproc=PostprocOptions(readalong="sentences"))
        result = render(config, show_progress=False)
        assert not result.failed
        outputs[source.stem] = result.books[0].folder
    return outputs


def test_inspect_counts_the_page_markers_of_a_real_book():
    report = inspect_book(WCAG, options=IngestOptions())
    pages = [n for n in report.not_read if n.kind == "page numbers"]
    with zipfile.ZipFile(WCAG) as z:
        markers = sum(len(re.findall(rb'epub:type="pagebreak"', z.read(n))) for n in z.namelist() if n.endswith(".xhtml")
                      and "toc" not in n)
    assert markers == 21 and len(pages) == markers and {p.detail for p in pages} >= {"iv", "2", "3", "14", "25"}


def test_each_print_page_has_its_offset_in_the_audio_and_no_page_is_read(rendered):
    manifest = read_manifest(rendered["wcag"])
    pages = [(page.page, page.chunk, page.start) for chapter in manifest.chapters for page in chapter.pages]
    assert [p for p, _, _ in pages] == ["iv", "2", "3", "14"]  # chapters 1-3 as inspect numbers them
    starts = {chunk.id: chunk.start for chapter in manifest.chapters for chunk in chapter.chunks}
    assert all(starts[chunk] == start for _, chunk, start in pages)
    assert [s for _, _, s in pages] == sorted(s for _, _, s in pages)
    assert sum(n.kind == "page numbers" for n in manifest.book.not_read) == 21


def test_the_read_along_books_page_list_still_resolves_and_epubcheck_passes(rendered):
    manifest = read_manifest(rendered["wcag"])
    book = rendered["wcag"] / manifest.readalong.file
    report, counts = epubcheck_all([book])[book]
    assert counts == (0, 0, 0), report  # fatal errors, errors, warnings
    with zipfile.ZipFile(book) as z:
        nav_name = next(n for n in z.namelist() if n.endswith("toc.xhtml"))
        nav = etree.fromstring(z.read(nav_name))
        page_list = next(n for n in nav.iter("{*}nav") if n.get(f"{OPS}type") == "page-list")
        targets = [a.get("href") for a in page_list.iter("{*}a")]
        assert len(targets) >= 21
        for href in targets:
            doc, _, anchor = href.partition("#")
            root = etree.fromstring(z.read(posixpath.normpath(posixpath.join(posixpath.dirname(nav_name), doc))))
            assert root.xpath("//*[@id=$id]", id=anchor), href


def test_line_numbers_beside_a_poem_are_not_read_and_are_counted(rendered):
    manifest = read_manifest(rendered["daffodils"])
    spoken = " ".join(chunk.normalized for chapter in manifest.chapters for chunk in chapter.chunks).lower()
    assert not re.search(r"\b(three|five|eight|ten|\d+)\b", spoken), spoken
    assert "one. daffodils" in spoken and "wandered lonely as a cloud" in spoken and "margin of a bay" in spoken
    numbers = [(n.words, n.detail) for n in manifest.book.not_read if n.kind == "line numbers"]
    assert sorted(numbers, key=lambda n: int(n[1])) == [(1, "3"), (1, "5"), (1, "8"), (1, "10")]
