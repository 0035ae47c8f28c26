"""Placing a book's chunk audio (pass one): trim bounds and an evening gain per chunk, pauses by boundary.

Only numbers are kept, so every chapter's length in samples (and so every chapter
mark and subtitle time) is known before any audio is assembled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocket_batch.core.config import SAMPLE_RATE, LoudnessPreset, PostprocOptions
from pocket_batch.core.records import Book, Boundary, Chapter, Chunk, ChunkAudio
from pocket_batch.postproc.loudness import chunk_level
from pocket_batch.postproc.tempo import at_rate
from pocket_batch.synth.model.cache import AudioCache

TRIM_FRAME = SAMPLE_RATE // 100  # 10 ms
TRIM_KEEP = SAMPLE_RATE // 50  # 20 ms of margin kept around the speech


@dataclass(frozen=True)
class PlacedChunk:
    chunk: Chunk
    audio: ChunkAudio
    start: int  # first kept sample of the cached audio
    end: int
    gain_db: float  # evens this chunk's level to the target
    offset: int  # where it begins in its chapter
    pause_after: int  # samples of room tone that follow it
    played: ChunkAudio | None = None  # the audio placed, when it is not the take itself (at another rate)

    @property
    def source(self) -> ChunkAudio:
        """The audio that is placed: the take, or the take at the speaking rate."""
        return self.played or self.audio

    @property
    def samples(self) -> int:
        return self.end - self.start

    def words(self) -> list[tuple[str, int, int]]:
        """The verified words, (word, start, end) in samples of the chapter: the chunk's alignment, shifted
        by where the chunk's kept audio begins there, and clipped to it."""
        if self.audio.verdict is None:
            return []
        scale = self.source.samples / self.audio.samples  # the take's samples to the placed audio's

        def placed(sample: int) -> int:
            return self.offset + min(max(round(sample * scale) - self.start, 0), self.samples)
        return [(w.word, placed(w.start), placed(w.end)) for w in self.audio.verdict.words]


@dataclass(frozen=True)
class ChapterPlacement:
    chapter: Chapter
    chunks: tuple[PlacedChunk, ...]
    head: int  # room tone before the first chunk
    samples: int  # total, tail room tone included


def pause_samples(boundary: Boundary, options: PostprocOptions) -> int:
    """The pause after a boundary; pauses between sentences follow the speaking rate, the tail's room tone not."""
    if boundary == Boundary.CHAPTER:
        return round(options.tail_room_tone * SAMPLE_RATE)
    seconds = {Boundary.SENTENCE: options.sentence_pause, Boundary.PARAGRAPH: options.paragraph_pause,
               Boundary.SECTION: options.section_pause}[boundary]
    return round(seconds / options.rate * SAMPLE_RATE)


def trim_bounds(x: np.ndarray, below_peak_db: float) -> tuple[int, int]:
    """Leading and trailing silence: 10 ms frames under the chunk's loudest frame by `below_peak_db`."""
    frames = x.size // TRIM_FRAME
    if frames == 0:
        return 0, x.size
    rms = np.sqrt(np.mean(np.square(x[: frames * TRIM_FRAME].reshape(frames, TRIM_FRAME), dtype=np.float64), axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-below_peak_db / 20))
    if loud.size == 0:
        return 0, 0
    start = max(0, loud[0] * TRIM_FRAME - TRIM_KEEP)
    end = min(x.size, (loud[-1] + 1) * TRIM_FRAME + TRIM_KEEP)
    return int(start), int(end)


def place_book(book: Book, audio: dict[str, ChunkAudio], cache: AudioCache, preset: LoudnessPreset,
               options: PostprocOptions) -> list[ChapterPlacement]:
    """Every chapter's chunks with their trim, gain, offset and pause; `audio` is each chunk's record, by chunk id."""
    chapters = []
    for chapter in book.chapters:
        head = round(options.head_room_tone * SAMPLE_RATE)
        offset, placed = head, []
        for chunk in chapter.chunks:
            record = audio[chunk.id]
            played = at_rate(record, options.rate, cache, options)
            x = cache.read(played.key)
            start, end = trim_bounds(x, options.trim_db)
            level = chunk_level(x[start:end], SAMPLE_RATE, preset.measure)
            gain = float(np.clip(preset.target - level, -options.max_chunk_gain_db, options.max_chunk_gain_db)) \
                if np.isfinite(level) else 0.0
            pause = pause_samples(chunk.boundary, options)
            if chunk.pause is not None and chunk.boundary != Boundary.CHAPTER:  # the tail's room tone stays (ACX)
                pause = round(chunk.pause * SAMPLE_RATE)
            placed.append(PlacedChunk(chunk, record, start, end, gain, offset, pause,
                                      played if played is not record else None))
            offset += end - start + pause
        chapters.append(ChapterPlacement(chapter, tuple(placed), head, offset))
    return chapters
