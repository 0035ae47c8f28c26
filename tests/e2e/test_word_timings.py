"""Word timings from verification to the outputs: a book of real speech (the Dickens reading, as its
chunks' audio), verified by the real recognizer, assembled by the real post-processing.

The random model speaks noise, which has no words to time; so here the chunk audio is the
natural reading, placed in the chunk cache as synthesis would place it.
"""

from __future__ import annotations

import json
import posixpath
import re
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from lxml import etree
from scipy.signal import resample_poly

from helpers.speech import utterances
from helpers.check_epub import epubcheck

from pocket_batch.core.config import SAMPLE_RATE, PostprocOptions, VerifyOptions
from pocket_batch.core.records import Book, Boundary, Chapter, Chunk, Take
from pocket_batch.postproc.audiobook import Assembly, assemble
from pocket_batch.postproc.manifest import write_manifest
from pocket_batch.postproc.readalong.spans import read_text
from pocket_batch.postproc.readalong.build import write_readalong
from pocket_batch.postproc.verify_report import write_verify_report
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.verify.backends import make_backend
from pocket_batch.verify.judge import verify_audio

CUE = re.compile(r"^(\d\d:\d\d:\d\d[.,]\d{3}) --> (\d\d:\d\d:\d\d[.,]\d{3})$", re.MULTILINE)


def seconds(stamp: str) -> float:
    h, m, s = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture(scope="module")
def spoken_book(tmp_path_factory):
    """Two chapters of the reading's clauses, each chunk verified; one chunk given a wrong text."""
    folder = tmp_path_factory.mktemp("spoken")
    rows = utterances("two_cities")[:6]
    texts = [u.text for u in rows]
    texts[4] = "It was the season of Darkness, and the dog barked."  # what the audio does not say
    cache, options = AudioCache(folder / "cache"), VerifyOptions()
    backend = make_backend(options, texts)
    audio, chunks = {}, []
    for n, (u, text) in enumerate(zip(rows, texts)):
        x = resample_poly(u.audio, SAMPLE_RATE, u.rate).astype(np.float32)
        chunk = Chunk(f"ch00{1 + n // 3}-s{n:05d}", 1 + n // 3, text, text, Boundary.SENTENCE)
        verdict = verify_audio(backend, x, SAMPLE_RATE, text, options)
        record = cache.put(f"{n:032x}", x, SAMPLE_RATE, max_length=False, worker="w", wall_seconds=0.0)
        audio[chunk.id] = replace(record, verdict=verdict, takes=(Take(0, record.key, verdict),))
        chunks.append(chunk)
    book = Book(folder / "book.txt", "Two Cities", tuple(
        Chapter(c, f"Chapter {c}", tuple(ch for ch in chunks if ch.chapter == c)) for c in (1, 2)))
    book.source.write_text("\n".join(texts))
    out = folder / "out"
    out.mkdir()
    result = assemble(book, audio, Assembly(cache, out, PostprocOptions(subtitles="word", format="flac"), {}))
    write_verify_report(out / "verify.json", result, backend.name)
    readalong = write_readalong(book, result, out / "Two Cities.readalong.epub", PostprocOptions(format="flac"),
                                "the reading", by_word=True)
    manifest = write_manifest(out, book, result, config={}, model={}, voice={}, voices={}, loudness={},
                              verifier=backend.name, readalong=readalong)
    return out, manifest, book


def test_word_times_in_the_manifest_lie_inside_their_chunks_in_book_time(spoken_book):
    _, manifest, _ = spoken_book
    for chapter in manifest.chapters:
        for chunk in chapter.chunks:
            words = chunk.verify.words
            if not chunk.verify.passed:
                continue
            assert [w.word for w in words] == re.findall(r"[a-z]+", chunk.text.lower())
            for w in words:
                assert chunk.offset <= w.start <= w.end <= chunk.offset + chunk.samples
            assert words == sorted(words, key=lambda w: w.start)
    assert manifest.verification.flagged == ["ch002-s00004"]


def test_word_vtt_tags_every_word_and_the_srt_holds_short_groups(spoken_book):
    out, manifest, _ = spoken_book
    vtt = (out / "Two Cities.vtt").read_text()
    first = manifest.chapters[0].chunks[0]
    # "It was the best of times, it was the worst of times": each word after the first has its timestamp
    cue = vtt.split("\n\n")[1]
    tags = re.findall(r"<(\d\d:\d\d:\d\d\.\d{3})><c>([^<]+)</c>", cue)
    assert [w for _, w in tags] == first.text.split()[1:]
    times = [seconds(t) for t, _ in tags]
    assert times == sorted(times)
    for (stamp, _), word in zip(tags, first.verify.words[1:]):
        assert abs(seconds(stamp) - word.start / SAMPLE_RATE) < 0.002
    srt = (out / "Two Cities.srt").read_text()
    lines = [block.splitlines()[2] for block in srt.strip().split("\n\n")]
    flagged = next(c.text for ch in manifest.chapters for c in ch.chunks if not c.verify.passed)
    assert all(len(line.split()) <= 6 for line in lines if line != flagged)  # a chunk without word times: one cue
    assert flagged in lines
    assert " ".join(lines[:2]) == first.text  # twelve words: two groups of six, as written
    starts = [seconds(a) for a, _ in CUE.findall(srt)]
    assert starts == sorted(starts)


def test_the_chunk_that_says_something_else_is_reported_with_where_to_hear_it(spoken_book):
    out, manifest, _ = spoken_book
    report = json.loads((out / "verify.json").read_text())
    [failing] = report["failing"]
    assert failing["id"] == "ch002-s00004" and failing["flags"]
    chunk = next(c for ch in manifest.chapters for c in ch.chunks if c.id == "ch002-s00004")
    assert failing["book_offset"] == chunk.start and failing["file"].startswith("chapters/02 ")


def test_a_read_along_book_by_word_highlights_each_word_from_its_aligned_start(spoken_book):
    out, manifest, _ = spoken_book
    book = out / manifest.readalong.file
    _, counts = epubcheck(book)
    assert counts == (0, 0, 0) and manifest.readalong.granularity == "words"
    zf = zipfile.ZipFile(book)
    pars = []
    for name in sorted(n for n in zf.namelist() if n.endswith(".smil")):
        smil = etree.fromstring(zf.read(name))
        href = smil.find(".//{*}text").get("src").split("#")[0]
        doc = etree.fromstring(zf.read(posixpath.normpath(posixpath.join(posixpath.dirname(name), href))))
        by_id = {el.get("id"): el for el in doc.iter() if el.get("id")}
        for par in smil.iter("{*}par"):
            span_id = par.find("{*}text").get("src").split("#")[1]
            audio = par.find("{*}audio")
            pars.append((span_id, read_text(by_id[span_id]), clock(audio.get("clipBegin")), clock(audio.get("clipEnd"))))
    chunks = [c for ch in manifest.chapters for c in ch.chunks]
    starts = {c.id: ch.start_sample for ch in manifest.chapters for c in ch.chunks}
    for chunk in chunks:
        mine = [p for p in pars if p[0].startswith(f"pb-{chunk.id}")]
        if not chunk.verify.passed:  # no word times: one par for the sentence
            assert [p[1] for p in mine] == [chunk.text]
            continue
        assert " ".join(p[1] for p in mine) == chunk.text  # one par a word, as written
        for (_, _, begin, end), word in zip(mine[1:], chunk.verify.words[1:]):
            assert abs(begin * SAMPLE_RATE - (word.start - starts[chunk.id])) <= 1 and end > begin
        assert abs(mine[0][2] * SAMPLE_RATE - (chunk.offset - starts[chunk.id])) <= 1
    times = [(p[2], p[3]) for p in pars]
    assert all(a[1] <= b[0] + 1e-6 for a, b in zip(times, times[1:]) if b[0] >= a[0])  # end to end in each file


def clock(value: str) -> float:
    h, m, s = value.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
