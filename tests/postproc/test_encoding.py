"""Chapter metadata and the true-peak limiter, read back by ffmpeg."""

from __future__ import annotations

import subprocess

import numpy as np

from pocket_batch.core.config import PRESETS, PostprocOptions
from pocket_batch.core.records import Book, Boundary, Chapter, Chunk
from pocket_batch.postproc.audiobook import Assembly, assemble
from pocket_batch.postproc.encode import ffmetadata
from pocket_batch.synth.model.cache import AudioCache

from helpers.readback import FFMPEG, RATE, ebur128


def test_ffmetadata_escaping_survives_a_round_trip(tmp_path):
    title = "Odd = title; #1 \\ back\nslash"
    meta = tmp_path / "m.ffmeta"
    meta.write_text(ffmetadata({"title": title}, [(0, 1000, title)]))
    target = tmp_path / "x.m4b"
    subprocess.run([FFMPEG, "-v", "error", "-f", "lavfi", "-t", "1", "-i", "anullsrc=r=24000:cl=mono", "-i", str(meta),
                    "-map_metadata", "1", "-map_chapters", "1", "-c:a", "aac", "-f", "mp4", str(target)],
                   check=True, timeout=60)
    from mutagen.mp4 import MP4

    assert [c.title for c in MP4(target).chapters] == [title]  # read by an independent parser
    assert MP4(target).tags["\xa9nam"] == [title]


def test_limiter_holds_true_peak_on_spiky_audio(tmp_path):
    """Audio with sharp peaks (a high crest factor) at ACX level: the ceiling holds, measured by ffmpeg."""
    rng = np.random.default_rng(1)
    cache = AudioCache(tmp_path / "cache")
    chunks, audio = [], {}
    for n in range(1, 4):
        x = (rng.standard_normal(RATE * 3) * 0.02).astype(np.float32)
        x[rng.integers(0, x.size, 40)] = rng.choice([-0.9, 0.9], 40)  # clicks far over the ceiling after gain
        key = f"spiky{n:02d}" + "0" * 24
        audio[f"ch001-s{n:05d}"] = cache.put(key, x, RATE, max_length=False, worker="test", wall_seconds=0.0)
        chunks.append(Chunk(f"ch001-s{n:05d}", 1, f"Sentence {n}.", f"Sentence {n}.",
                            Boundary.CHAPTER if n == 3 else Boundary.SENTENCE))
    book = Book(tmp_path / "b.txt", "Spiky", (Chapter(1, "One", tuple(chunks)),))
    options = PostprocOptions(loudness="acx", format="wav")
    out = tmp_path / "out"
    out.mkdir()
    result = assemble(book, audio, Assembly(cache, out, options, {"title": "Spiky"}))
    _, peak = ebur128(result.chapters[0].file)
    assert peak <= PRESETS["acx"].ceiling
    assert abs(result.chapters[0].loudness - PRESETS["acx"].target) <= 0.5
