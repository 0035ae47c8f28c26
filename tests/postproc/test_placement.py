"""Placing chunks and streaming a chapter's blocks, on synthetic audio in a real chunk cache."""

from __future__ import annotations

import numpy as np
import pytest

from pocket_batch.core.config import PRESETS, SAMPLE_RATE, PostprocOptions
from pocket_batch.core.records import Book, Boundary, Chapter, Chunk
from pocket_batch.postproc.audiobook import chapter_blocks
from pocket_batch.postproc.loudness import chunk_level
from pocket_batch.postproc.placement import place_book, trim_bounds
from pocket_batch.synth.model.cache import AudioCache

OPTIONS = PostprocOptions(loudness="podcast")


def tone(seconds: float, amplitude: float, lead: float = 0.0, tail: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    x = (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.concatenate([np.zeros(int(lead * SAMPLE_RATE), np.float32), x, np.zeros(int(tail * SAMPLE_RATE), np.float32)])


@pytest.fixture
def book(tmp_path):
    """Two chapters: three chunks with silence around them at different levels, then one chunk."""
    cache = AudioCache(tmp_path / "cache")
    clips = {"ch001-s00001": tone(1.0, 0.05, lead=0.5, tail=0.25), "ch001-s00002": tone(0.5, 0.4),
             "ch001-s00003": tone(0.8, 0.1, tail=1.0), "ch002-s00001": tone(0.6, 0.2)}
    boundaries = {"ch001-s00001": Boundary.SENTENCE, "ch001-s00002": Boundary.PARAGRAPH,
                  "ch001-s00003": Boundary.CHAPTER, "ch002-s00001": Boundary.CHAPTER}
    audio = {cid: cache.put(f"{n:032x}", x, SAMPLE_RATE, max_length=False, worker="w", wall_seconds=0.0)
             for n, (cid, x) in enumerate(clips.items())}
    chapters = tuple(Chapter(c, f"Chapter {c}", tuple(Chunk(cid, c, cid, cid, boundaries[cid])
                                                     for cid in clips if cid.startswith(f"ch00{c}")))
                     for c in (1, 2))
    return Book(tmp_path / "b.txt", "B", chapters), audio, cache, clips


def test_chunks_are_trimmed_evened_and_laid_end_to_end_with_their_pauses(book):
    b, audio, cache, clips = book
    first, second = place_book(b, audio, cache, PRESETS["podcast"], OPTIONS)
    head = round(OPTIONS.head_room_tone * SAMPLE_RATE)
    pauses = [round(s * SAMPLE_RATE) for s in (OPTIONS.sentence_pause, OPTIONS.paragraph_pause, OPTIONS.tail_room_tone)]
    assert [p.pause_after for p in first.chunks] == pauses
    assert first.chunks[0].offset == head
    for placed, following in zip(first.chunks, first.chunks[1:]):
        assert following.offset == placed.offset + placed.samples + placed.pause_after
    assert first.samples == first.chunks[-1].offset + first.chunks[-1].samples + pauses[-1]
    lead = first.chunks[0]  # 0.5 s of silence before the tone: trimmed, with 20 ms kept
    assert lead.start == pytest.approx(0.5 * SAMPLE_RATE - SAMPLE_RATE // 50, abs=SAMPLE_RATE // 100)
    assert lead.audio.key == audio["ch001-s00001"].key
    for placed in first.chunks + second.chunks:  # each chunk's gain takes it to the target
        x = cache.read(placed.audio.key)[placed.start:placed.end] * 10 ** (placed.gain_db / 20)
        assert chunk_level(x, SAMPLE_RATE, "lufs") == pytest.approx(PRESETS["podcast"].target, abs=0.1)


def test_gain_is_bounded_so_near_silence_is_never_boosted_into_noise(tmp_path):
    cache = AudioCache(tmp_path)
    record = cache.put("f" * 32, tone(1.0, 0.0005), SAMPLE_RATE, max_length=False, worker="w", wall_seconds=0.0)
    chunk = Chunk("ch001-s00001", 1, "x", "x", Boundary.CHAPTER)
    [placement] = place_book(Book(tmp_path / "b", "B", (Chapter(1, "One", (chunk,)),)), {chunk.id: record}, cache,
                             PRESETS["podcast"], OPTIONS)
    assert placement.chunks[0].gain_db == OPTIONS.max_chunk_gain_db


def test_a_chapters_blocks_add_up_to_its_placement(book):
    b, audio, cache, _ = book
    for placement in place_book(b, audio, cache, PRESETS["podcast"], OPTIONS):
        blocks = list(chapter_blocks(placement, cache, 0.0, PRESETS["podcast"].ceiling, OPTIONS))
        assert sum(block.size for block in blocks) == placement.samples
        assert len(blocks) == 1 + 2 * len(placement.chunks)  # head tone, then each chunk and its pause
        tone_rms = 20 * np.log10(np.sqrt(np.mean(np.square(blocks[0], dtype=np.float64))))
        assert tone_rms == pytest.approx(OPTIONS.room_tone_db, abs=1.0)
        spoken = blocks[1]
        assert abs(spoken[0]) < 1e-3 and abs(spoken[-1]) < 1e-3  # faded in and out: no click at a join


def test_trim_bounds_of_silence_and_of_audio_shorter_than_a_frame():
    assert trim_bounds(np.zeros(SAMPLE_RATE, np.float32), 45.0) == (0, 0)
    assert trim_bounds(np.ones(10, np.float32), 45.0) == (0, 10)
