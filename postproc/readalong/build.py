"""The read-along book: the source EPUB (or one made from the book) with EPUB 3 Media Overlays.

Every spoken chunk found in the text is wrapped in a span; one SMIL file per content document
pairs each span with its stretch of the chapter's audio, packed in the book as MP3. Clips run
from a chunk's first sample (the manifest's offset) to the next chunk's, so a reading system
plays the chapter through, pauses included, and highlights the sentence being read.
"""

from __future__ import annotations

import posixpath
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from pocket_batch.core.config import PRESETS, PostprocOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import SCRATCH_PREFIX, sha256_file
from pocket_batch.core.records import Book
from pocket_batch.ingest import html
from pocket_batch.postproc.audiobook import Audiobook, ChapterResult
from pocket_batch.postproc.encode import codec_args, ffmpeg_exe
from pocket_batch.postproc.placement import PlacedChunk
from pocket_batch.postproc.readalong.generated import book_identifier, generated_package
from pocket_batch.postproc.readalong.locate import Found, locate
from pocket_batch.postproc.readalong.package import STRICT, Package, free_name
from pocket_batch.postproc.readalong.smil import Clip, clock, smil_document
from pocket_batch.postproc.readalong.spans import Stream, nonspace, wrap
from pocket_batch.postproc.subtitles import shown_words

ACTIVE_CLASS = "-epub-media-overlay-active"
CSS = f".{ACTIVE_CLASS} {{ background-color: #fde68a; color: inherit; border-radius: 0.15em; }}\n".encode()
FOLDER = "readalong"  # beside the package document: the overlays, the audio and the highlight's style
XHTML = "http://www.w3.org/1999/xhtml"


@dataclass(frozen=True)
class ReadAlong:
    path: Path
    granularity: str  # "sentences" or "words"
    overlays: int  # content documents with a media overlay
    placed: int  # chunks highlighted in the text
    not_placed: tuple[str, ...]  # chunk ids read aloud but not found in the text (notes read at a chapter's end)
    warnings: tuple[str, ...] = ()


@dataclass
class Document:
    item: etree._Element  # its manifest item
    path: str  # in the zip
    name: str  # relative to the package document, as Chapter.source names it
    root: etree._Element
    stream: Stream


def write_readalong(book: Book, audiobook: Audiobook, target: Path, options: PostprocOptions, narrator: str,
                    by_word: bool = False) -> ReadAlong:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f"{SCRATCH_PREFIX}readalong-") as scratch:
        return _write(book, audiobook, target, options, narrator, by_word, Path(scratch))


def _write(book: Book, audiobook: Audiobook, target: Path, options: PostprocOptions, narrator: str, by_word: bool,
           scratch: Path) -> ReadAlong:
    package, warnings = _package(book)
    folder = posixpath.join(package.base, package.free_folder(FOLDER))  # never over an author's files
    docs = _documents(package, warnings)
    found = locate(book, [d.name for d in docs], [d.stream for d in docs])
    placed = {p.chunk.id: (p, c) for c in audiobook.chapters for p in c.placement.chunks}
    spans = _wrap_all(docs, found, placed, by_word)
    audio = _audio_files(package, folder, audiobook, options, scratch)
    clips = _clips(folder, docs, found, spans, placed, audio)
    durations = {}
    for n, doc in enumerate(docs):
        if clips.get(n):
            item_id = package.free_id(f"mo-{n + 1:03d}")
            durations[item_id] = sum(c.samples for c in clips[n])
            _add_overlay(package, folder, doc, item_id, clips[n])
    package.files[posixpath.join(folder, "readalong.css")] = CSS
    package.add_item(package.free_id("readalong-css"), posixpath.join(folder, "readalong.css"), "text/css")
    for item_id, samples in durations.items():
        package.set_meta("media:duration", clock(samples), refines=f"#{item_id}")
    package.set_meta("media:duration", clock(sum(durations.values())))
    package.set_meta("media:narrator", narrator)
    package.set_meta("media:active-class", ACTIVE_CLASS)
    package.write(target)
    located = {f.chunk.id for f in found if f.chunk.id in spans}
    granularity = "words" if any(len(ids) > 1 for ids in spans.values()) else "sentences"
    return ReadAlong(target, granularity, len(durations), len(located),
                     tuple(c.id for c in book.chunks if c.id not in located), tuple(warnings))


def _package(book: Book) -> tuple[Package, list[str]]:
    """The source EPUB 3 itself; any other input as a generated EPUB 3."""
    modified = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(book.source.stat().st_mtime)))
    if book.source.suffix.lower() == ".epub":
        package = Package.read(book.source)
        if package.version.startswith("3"):
            if package.meta("dcterms:modified") is None:
                package.set_meta("dcterms:modified", modified)
            if replaced := package.remove_overlays():  # a read-along book, narrated again
                return package, [f"{book.source.name} had {replaced} media overlay(s) of its own: replaced by this narration"]
            return package, []
        warning = f"{book.source.name} is EPUB {package.version}: the read-along book is a new EPUB 3 of its text"
        return generated_package(book, book_identifier(sha256_file(book.source)), modified), [warning]
    return generated_package(book, book_identifier(sha256_file(book.source)), modified), []


def _documents(package: Package, warnings: list[str]) -> list[Document]:
    parsed = []
    for item in package.spine_documents():
        path = package.path_of(item)
        try:
            root = etree.fromstring(package.files[path], STRICT)
        except (KeyError, etree.XMLSyntaxError) as exc:
            warnings.append(f"{path}: not read along ({type(exc).__name__})")
            continue
        parsed.append((item, path, root))
    note_ids = set().union(*(html.noteref_targets(root) for _, _, root in parsed)) if parsed else set()
    reading = html.Reading(note_ids)
    return [Document(item, path, posixpath.relpath(path, package.base or "."), root,
                     Stream(next(root.iter(f"{{{XHTML}}}body"), root), reading)) for item, path, root in parsed]


def _wrap_all(docs: list[Document], found: list[Found], placed: dict, by_word: bool) -> dict[str, list[str]]:
    """Chunk id -> its span ids: the chunk's own, or (by word) one per word with a time."""
    spans: dict[str, list[str]] = {}
    for n, doc in enumerate(docs):
        for hit in sorted((f for f in found if f.doc == n), key=lambda f: f.start, reverse=True):
            span_id = free_name(f"pb-{hit.chunk.id}", doc.stream.ids)
            span = wrap(doc.stream, hit.start, hit.end, span_id)
            if span is None:
                continue
            spans[hit.chunk.id] = [span_id]
            words = _timed_words(placed[hit.chunk.id][0]) if by_word else []
            if words and (ids := _wrap_words(span, span_id, words, doc.stream.reading)):
                spans[hit.chunk.id] = ids
    return spans


def _timed_words(p: PlacedChunk) -> list[tuple[str, int, int]]:
    """The chunk's words as written, with times, when verification aligned every one of them."""
    shown = shown_words(p.chunk.text, p.words())
    return list(shown) if shown and nonspace("".join(w for w, _, _ in shown)) == nonspace(p.chunk.text) else []


def _wrap_words(span, span_id: str, words, reading: html.Reading) -> list[str]:
    stream, at, ranges = Stream(span, reading), 0, []
    for word, _, _ in words:
        start = stream.text.find(nonspace(word), at)
        if start < 0:
            return []
        ranges.append((start, start + len(nonspace(word))))
        at = ranges[-1][1]
    ids = [f"{span_id}-w{n:03d}" for n in range(1, len(ranges) + 1)]
    for (start, end), word_id in reversed(list(zip(ranges, ids))):
        if wrap(stream, start, end, word_id) is None:
            return []  # cannot happen inside one chunk's span; the chunk is then read by sentence
    return ids


def _audio_files(package: Package, folder: str, audiobook: Audiobook, options: PostprocOptions,
                 scratch: Path) -> dict[int, str]:
    """Chapter index -> the zip path of its audio in the book: the chapter's MP3 as encoded, or one made from it
    (in `scratch`); either is copied into the book from disk, never held whole."""
    paths = {}
    for n, chapter in enumerate(audiobook.chapters, start=1):
        path = posixpath.join(folder, f"audio/{n:03d}.mp3")
        package.files[path] = _mp3(chapter, options, scratch / f"{n:03d}.mp3")
        package.add_item(package.free_id(f"audio-{n:03d}"), path, "audio/mpeg")
        paths[chapter.placement.chapter.index] = path
    return paths


def _mp3(chapter: ChapterResult, options: PostprocOptions, out: Path) -> Path:
    if options.format == "mp3":
        return chapter.file
    command = [ffmpeg_exe(options), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(chapter.file),
               "-map_metadata", "-1", *codec_args("mp3", PRESETS[options.loudness], options),
               "-fflags", "+bitexact", "-flags:a", "+bitexact", str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise PocketBatchError(f"{chapter.file.name}: ffmpeg could not make the read-along MP3 "
                               f"({(done.stderr.strip().splitlines() or ['?'])[-1]})")
    return out


def _clips(folder: str, docs: list[Document], found: list[Found], spans: dict[str, list[str]], placed: dict,
           audio: dict[int, str]) -> dict[int, list[Clip]]:
    """Document index -> its clips in reading order. A chunk's audio runs to where the next highlighted
    chunk of its chapter starts (so what is read but not in the text still plays), the last one to its end."""
    order = [f for f in found if f.chunk.id in spans]
    clips: dict[int, list[Clip]] = {}
    for n, hit in enumerate(order):
        p, chapter = placed[hit.chunk.id]
        after = next((placed[f.chunk.id][0] for f in order[n + 1:n + 2] if placed[f.chunk.id][1] is chapter), None)
        end = after.offset if after is not None else p.offset + p.samples
        text = posixpath.relpath(docs[hit.doc].path, folder)
        sound = posixpath.relpath(audio[p.chunk.chapter], folder)
        clips.setdefault(hit.doc, []).extend(
            Clip(f"{text}#{span_id}", sound, begin, stop) for span_id, begin, stop in _span_times(p, spans[hit.chunk.id], end))
    return clips


def _span_times(p: PlacedChunk, ids: list[str], end: int) -> list[tuple[str, int, int]]:
    """Each span's stretch of audio, end to end: the chunk's, or each word's from its start to the next word's
    (a word too short to have a stretch of its own is heard in the one before it)."""
    if len(ids) == 1:
        return [(ids[0], p.offset, end)]
    starts = [p.offset] + [min(max(start, p.offset), end) for _, start, _ in _timed_words(p)[1:]] + [end]
    times, begin = [], p.offset
    for n, span_id in enumerate(ids):
        stop = max(starts[n + 1], begin)
        if stop > begin:
            times.append((span_id, begin, stop))
            begin = stop
    return times


def _add_overlay(package: Package, folder: str, doc: Document, item_id: str, clips: list[Clip]) -> None:
    """The document's SMIL file, its manifest item, and the document linked to both and to the highlight style."""
    smil = posixpath.join(folder, f"{item_id}.smil")
    package.files[smil] = smil_document(posixpath.relpath(doc.path, posixpath.dirname(smil)), clips)
    package.add_item(item_id, smil, "application/smil+xml")
    doc.item.set("media-overlay", item_id)
    head = next(doc.root.iter(f"{{{XHTML}}}head"), None)
    if head is not None:
        link = etree.SubElement(head, f"{{{XHTML}}}link", rel="stylesheet", type="text/css",
                                href=package.href(posixpath.join(folder, "readalong.css"), doc.path))
        link.tail = "\n"
    package.files[doc.path] = etree.tostring(doc.root.getroottree(), xml_declaration=True, encoding="utf-8")
