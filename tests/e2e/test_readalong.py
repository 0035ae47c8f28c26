"""Read-along books (EPUB 3 Media Overlays) of an EPUB, a Markdown and a text book, checked by the official
EPUBCheck and read back from the package itself: every highlighted span, every clip, every duration."""

from __future__ import annotations

import posixpath
import re
import shutil
import zipfile

import pytest
from lxml import etree

from pocket_batch.core.config import PostprocOptions
from pocket_batch.postproc.manifest import read_manifest
from pocket_batch.pipeline.run import render
from pocket_batch.postproc.readalong.spans import nonspace, read_text

from helpers.check_epub import epubcheck_all
from helpers.readback import decoded_seconds

OPF = "{http://www.idpf.org/2007/opf}"
SMIL = "{http://www.w3.org/ns/SMIL}"
CLOCK = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")
RATE = 24_000
# An EPUB 2 gets a new EPUB 3 of its text; the last three are round three's item 14: control characters in a
# text, an EPUB whose names are the ones a read-along book makes, and a read-along book narrated again.
BOOKS = ["sample.epub", "lighthouse.md", "harbour.txt", "epub2.epub", "controls.txt", "collides.epub", "renarrated.epub"]
AUTHORS_CSS = b"/* the author's own */ p { margin: 0 }\n"

MARKDOWN = """# The Lighthouse

## The Keeper

The keeper climbed the stairs at dusk. He lit the *great lamp* and watched the sea.

Ships passed in the night, and each one **blinked** its thanks.

## The Storm

The storm came in November. Waves broke over the rocks, and the light held.
"""
TEXT = """CHAPTER I

The morning was grey. Anna walked to the harbour and waited for the ferry.

It came late, as it always did.

CHAPTER II

The island was quiet. Nobody met her at the pier.
"""


def seconds(clock: str) -> float:
    h, m, s = CLOCK.match(clock).groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture(scope="module")
def books(small_model, sample_render, tmp_path_factory):
    """A Markdown and a text book rendered with --readalong by the random model (noise, not speech), chapters
    as MP3 (packed as they are), and the session's sample EPUB and its EPUB 2 (FLAC chapters, made MP3):
    each input's output folder, by file name."""
    folder = tmp_path_factory.mktemp("readalong")
    inputs = (folder / "lighthouse.md", folder / "harbour.txt", folder / "controls.txt", folder / "collides.epub",
              folder / "renarrated.epub")
    inputs[0].write_text(MARKDOWN)
    inputs[1].write_text(TEXT)
    inputs[2].write_text(TEXT.replace("CHAPTER II", "CHAPTER\x01II") + "\x1a")  # a DOS end-of-file, a stray \x01
    _with_readalong_names(package(sample_render["sample.epub"])[0].book.source, inputs[3])
    shutil.copy(sample_render["sample.epub"] / package(sample_render["sample.epub"])[0].readalong.file, inputs[4])
    from pocket_batch.core.config import ModelOptions, RunConfig, VerifyOptions

    config = RunConfig(inputs=inputs, output=folder / "out", voice="alba", workers=0,
                       model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False),
                       postproc=PostprocOptions(readalong="sentences"))
    result = render(config, show_progress=False)
    assert not result.failed
    return config, {book.source.name: book.folder for book in result.books} | sample_render


def _with_readalong_names(source, target):
    """The EPUB with an item named as the first overlay is and the author's own file where the style would go."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".opf"):
                data = data.replace(b"<manifest>", b'<manifest><item id="mo-001" href="readalong/readalong.css" '
                                                   b'media-type="text/css"/>')
            zout.writestr(info, data)
        zout.writestr("OEBPS/readalong/readalong.css", AUTHORS_CSS)


def package(folder):
    manifest = read_manifest(folder)
    return manifest, zipfile.ZipFile(folder / manifest.readalong.file)


def overlays(zf: zipfile.ZipFile):
    """(content document path, SMIL path, SMIL root) of every overlaid document, and the package document."""
    opf_path = etree.fromstring(zf.read("META-INF/container.xml")).find(".//{*}rootfile").get("full-path")
    opf, base = etree.fromstring(zf.read(opf_path)), posixpath.dirname(opf_path)
    items = {i.get("id"): i for i in opf.iter(f"{OPF}item")}
    found = []
    for item in items.values():
        if item.get("media-overlay"):
            smil = posixpath.join(base, items[item.get("media-overlay")].get("href"))
            found.append((posixpath.join(base, item.get("href")), smil, etree.fromstring(zf.read(smil))))
    return opf, items, found


@pytest.fixture(scope="module")
def checked(books) -> dict:
    """EPUBCheck's report on each book, all in one Java."""
    _, folders = books
    paths = {name: folders[name] / package(folders[name])[0].readalong.file for name in BOOKS}
    reports = epubcheck_all(list(paths.values()))
    return {name: reports[path] for name, path in paths.items()}


@pytest.mark.parametrize("name", BOOKS)
def test_epubcheck_finds_no_errors_and_no_warnings(checked, name):
    report, (fatals, errors, warnings) = checked[name]
    print(name, [line for line in report.splitlines() if line.startswith("Messages:")][0])
    assert (fatals, errors, warnings) == (0, 0, 0), report


@pytest.mark.parametrize("name", BOOKS)
def test_every_span_holds_its_chunks_text_and_every_clip_its_chunks_audio(books, name):
    _, folders = books
    manifest, zf = package(folders[name])
    chunks = {c.id: (c, chapter) for chapter in manifest.chapters for c in chapter.chunks}
    _, _, found = overlays(zf)
    seen = []
    for doc_path, smil_path, smil in found:
        doc = etree.fromstring(zf.read(doc_path))
        by_id = {el.get("id"): el for el in doc.iter() if el.get("id")}
        assert smil.find(f"{SMIL}body/{SMIL}seq").get("{http://www.idpf.org/2007/ops}textref")
        audio_ends = {}
        for par in smil.iter(f"{SMIL}par"):
            href, _, span_id = par.find(f"{SMIL}text").get("src").partition("#")
            assert posixpath.normpath(posixpath.join(posixpath.dirname(smil_path), href)) == doc_path
            chunk, chapter = chunks[span_id.removeprefix("pb-")]
            assert read_text(by_id[span_id]) == chunk.text
            audio = par.find(f"{SMIL}audio")
            begin, end = seconds(audio.get("clipBegin")), seconds(audio.get("clipEnd"))
            assert abs(begin * RATE - (chunk.offset - chapter.start_sample)) <= 1  # the manifest's offset
            assert begin + chunk.samples / RATE <= end + 1e-6  # the whole chunk plays
            source = posixpath.normpath(posixpath.join(posixpath.dirname(smil_path), audio.get("src")))
            assert begin >= audio_ends.get(source, 0.0)  # in order, never overlapping
            audio_ends[source] = end
            seen.append(chunk.id)
        for source, end in audio_ends.items():
            with zf.open(source) as f, open(folders[name] / "clip.mp3", "wb") as out:
                shutil.copyfileobj(f, out)
            assert end <= decoded_seconds(folders[name] / "clip.mp3")
    assert sorted(seen) == sorted(chunks)  # every chunk highlighted (this book has none outside its text)
    assert manifest.readalong.placed == len(chunks) and manifest.readalong.not_placed == []


@pytest.mark.parametrize("name", BOOKS)
def test_media_durations_add_up_to_the_books(books, name):
    _, folders = books
    manifest, zf = package(folders[name])
    opf, items, found = overlays(zf)
    metas = [(m.get("refines"), m.text) for m in opf.iter(f"{OPF}meta") if m.get("property") == "media:duration"]
    total = [seconds(v) for r, v in metas if r is None]
    parts = {r.lstrip("#"): seconds(v) for r, v in metas if r}
    assert len(total) == 1 and set(parts) == {items[i].get("id") for i in items if items[i].get("media-type") ==
                                              "application/smil+xml"}
    assert abs(sum(parts.values()) - total[0]) <= 1.0
    for _, smil_path, smil in found:
        item_id = next(i for i, item in items.items() if smil_path.endswith(item.get("href")))
        clips = sum(seconds(a.get("clipEnd")) - seconds(a.get("clipBegin")) for a in smil.iter(f"{SMIL}audio"))
        assert abs(clips - parts[item_id]) < 0.001
    properties = {m.get("property"): m.text for m in opf.iter(f"{OPF}meta") if not m.get("refines")}
    assert manifest.voice["name"] in properties["media:narrator"]
    css = next(zf.read(posixpath.join(posixpath.dirname(smil_path), "readalong.css")) for _, smil_path, _ in found)
    assert f".{properties['media:active-class']}" in css.decode()


def test_the_original_epub_is_all_there_with_spans_added_and_skipped_matter_unvoiced(books, tmp_path):
    _, folders = books
    manifest, zf = package(folders["sample.epub"])
    original = zipfile.ZipFile(manifest.book.source)
    for name in original.namelist():
        if name.endswith(".xhtml"):
            assert nonspace("".join(etree.fromstring(original.read(name)).itertext())) == \
                   nonspace("".join(etree.fromstring(zf.read(name)).itertext())), name
        elif not name.endswith(".opf"):
            assert original.read(name) == zf.read(name), name  # untouched, byte for byte
    _, items, found = overlays(zf)
    overlaid = {doc for doc, _, _ in found}
    for skipped in ("cover", "title", "copyright", "notes", "index"):
        assert f"OEBPS/{skipped}.xhtml" not in overlaid  # front matter and notes stay, without overlays
    ch1 = etree.fromstring(zf.read("OEBPS/ch1.xhtml"))
    refs = [a.get("href") for a in ch1.iter("{*}a")]
    assert refs == ["notes.xhtml#n1", "#fn2"] and {el.get("id") for el in ch1.iter()} >= {"fn2"}


def test_14_generated_names_never_take_the_sources_and_a_read_along_book_is_narrated_anew(books):
    _, folders = books
    _, zf = package(folders["collides.epub"])
    _, items, found = overlays(zf)
    assert zf.read("OEBPS/readalong/readalong.css") == AUTHORS_CSS and items["mo-001"].get("media-type") == "text/css"
    assert found and not any(smil.startswith("OEBPS/readalong/") for _, smil, _ in found)
    _, first = package(folders["sample.epub"])
    _, zf = package(folders["renarrated.epub"])
    _, items, found = overlays(zf)
    smils = sorted(i.get("href") for i in items.values() if i.get("media-type") == "application/smil+xml")
    assert len(smils) == len(found) == len(overlays(first)[2])  # the book's own overlays replaced, not doubled
    for doc, _, _ in found:
        ids = [el.get("id") for el in etree.fromstring(zf.read(doc)).iter() if el.get("id")]
        assert len(ids) == len(set(ids)), doc
    manifest, _ = package(folders["controls.txt"])
    assert [c.title for c in manifest.chapters] == ["CHAPTER I", "CHAPTERII"]


def test_a_rerun_with_everything_cached_rebuilds_the_same_bytes(books):
    config, folders = books
    manifest, _ = package(folders["lighthouse.md"])
    book = folders["lighthouse.md"] / manifest.readalong.file
    before = book.read_bytes()
    book.unlink()  # the book is no longer finished: the rerun assembles it again, from the cache
    result = render(config, show_progress=False)
    assert result.synthesized == 0
    assert book.read_bytes() == before
