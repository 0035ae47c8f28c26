"""Assembling the audiobook: per chapter, evened chunks and room tone streamed into the encoders.

Each chapter is read from the chunk cache three times (two measuring passes, one
encoding pass) and never held whole: memory stays flat however long the book.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocket_batch.core.files import SCRATCH_PREFIX
from pocket_batch.core.config import PRESETS, SAMPLE_RATE, SYNTHETIC, PostprocOptions
from pocket_batch.core.layout import safe_name
from pocket_batch.core.records import Book, ChunkAudio
from pocket_batch.postproc.encode import LOSSY, Encoder, codec_args, ffmetadata
from pocket_batch.postproc.loudness import LoudnessMeter, db_to_gain, limit, true_peak_db
from pocket_batch.postproc.placement import ChapterPlacement, place_book
from pocket_batch.postproc.subtitles import Cue, shown_words, word_groups, write_srt, write_vtt
from pocket_batch.postproc.tags import tag_synthetic
from pocket_batch.synth.model.cache import AudioCache

# The limiter takes a little off; a second measurement corrects for it.
NORMALIZE_PASSES = 2
ISO639_2 = {"en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "pt": "por", "nl": "nld"}


@dataclass(frozen=True)
class ChapterResult:
    placement: ChapterPlacement
    start: int  # samples from the start of the book
    file: Path
    loudness: float  # measured on what was encoded (LUFS or dB RMS, as the preset measures)
    true_peak: float  # dBTP of the encoded samples before the encoder
    gain_db: float  # the chapter pass's correction on top of the chunk evening
    curve: tuple[float, ...] = ()  # the preset's measure over time: a value a second, over the 3 s before it


@dataclass(frozen=True)
class Audiobook:
    m4b: Path
    chapters: list[ChapterResult]
    subtitles: tuple[Path, Path]
    samples: int


OnChapter = Callable[[int, int, str], None]  # (chapter number from 1, chapters, title) as a chapter starts


@dataclass(frozen=True)
class Assembly:
    """What every chapter of one book is assembled with."""

    cache: AudioCache
    out: Path
    options: PostprocOptions
    tags: dict[str, str]
    on_chapter: OnChapter | None = None

    @property
    def ceiling(self) -> float:
        """The preset's true-peak ceiling, less a margin for what lossy encoding adds."""
        margin = self.options.lossy_margin_db if {self.options.format, "m4b"} & LOSSY else 0.0
        return PRESETS[self.options.loudness].ceiling - margin


def room_tone(samples: int, level_db: float, seed: list[int]) -> np.ndarray:
    """A very low, deterministic noise floor: ACX rejects dead digital silence, and reruns stay byte-identical."""
    return (np.random.default_rng(seed).standard_normal(samples) * db_to_gain(level_db)).astype(np.float32)


def chapter_blocks(placement: ChapterPlacement, cache: AudioCache, correction_db: float, ceiling_db: float,
                   options: PostprocOptions) -> Iterator[np.ndarray]:
    """The chapter's audio, block by block: head room tone, then each chunk evened, faded and limited, and its pause."""
    index = placement.chapter.index
    yield room_tone(placement.head, options.room_tone_db, [index, 0])
    fade = int(options.fade_ms * SAMPLE_RATE / 1000)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    for n, placed in enumerate(placement.chunks, start=1):
        x = cache.read(placed.source.key)[placed.start:placed.end] * db_to_gain(placed.gain_db + correction_db)
        k = min(fade, x.size // 2)
        x[:k] *= ramp[:k]
        x[x.size - k:] *= ramp[:k][::-1]
        yield limit(x.astype(np.float32), ceiling_db, SAMPLE_RATE)
        yield room_tone(placed.pause_after, options.room_tone_db, [index, n])


def normalize_chapter(placement: ChapterPlacement, cache: AudioCache, ceiling_db: float,
                      options: PostprocOptions) -> float:
    """The chapter's gain to the preset's target, measured on the limited audio."""
    preset = PRESETS[options.loudness]
    correction = 0.0
    for _ in range(NORMALIZE_PASSES):
        meter = LoudnessMeter(SAMPLE_RATE)
        for block in chapter_blocks(placement, cache, correction, ceiling_db, options):
            meter.feed(block)
        level = meter.level(preset.measure)
        if not np.isfinite(level):
            return correction
        correction += preset.target - level
    return correction


def assemble(book: Book, audio: dict[str, ChunkAudio], assembly: Assembly, keep: frozenset[int] = frozenset()
             ) -> Audiobook:
    """The M4B, the chapter files and the subtitles of a book whose every chunk (`audio`, by chunk id) is cached.

    The chapter files of chapters in `keep` (by index) are left as they are: their audio has not changed.
    """
    placements = place_book(book, audio, assembly.cache, PRESETS[assembly.options.loudness], assembly.options)
    starts = [int(s) for s in np.cumsum([0] + [p.samples for p in placements])]
    title = safe_name(book.title, "book")
    marks = [(round(s * 1000 / SAMPLE_RATE), round((s + p.samples) * 1000 / SAMPLE_RATE), p.chapter.title)
             for s, p in zip(starts, placements)]
    m4b = assembly.out / f"{title}.m4b"
    results = []
    with tempfile.TemporaryDirectory(dir=assembly.out, prefix=f"{SCRATCH_PREFIX}assemble-") as scratch, \
            _book_encoder(m4b, Path(scratch), book, marks, assembly) as book_encoder:
        for number, (placement, start) in enumerate(zip(placements, starts), start=1):
            if assembly.on_chapter:
                assembly.on_chapter(number, len(placements), placement.chapter.title)
            results.append(_encode_chapter(placement, start, f"{number:0{max(2, len(str(len(placements))))}d}",
                                           f"{number}/{len(placements)}", assembly, book_encoder,
                                           placement.chapter.index in keep))
    by_word = assembly.options.subtitles == "word"
    cues = [Cue(start + c.offset, start + c.offset + c.samples, c.chunk.text,
                shown_words(c.chunk.text, [(w, start + s, start + e) for w, s, e in c.words()]) if by_word else ())
            for placement, start in zip(placements, starts) for c in placement.chunks]
    srt, vtt = assembly.out / f"{title}.srt", assembly.out / f"{title}.vtt"
    write_srt(srt, word_groups(cues) if by_word else cues, SAMPLE_RATE)
    write_vtt(vtt, cues, SAMPLE_RATE)
    return Audiobook(m4b, results, (srt, vtt), starts[-1])


@contextlib.contextmanager
def _book_encoder(m4b: Path, scratch: Path, book: Book, marks, assembly: Assembly):
    options = assembly.options
    meta = scratch / "chapters.ffmeta"
    meta.write_text(ffmetadata(assembly.tags, marks), encoding="utf-8")
    inputs, input_args = [meta], ["-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"]
    suffix = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg"}
    suffix = next((s for magic, s in suffix.items() if book.cover and book.cover.startswith(magic)), None)
    if suffix:  # a cover that is neither PNG nor JPEG is left out rather than failing the book
        (scratch / f"cover{suffix}").write_bytes(book.cover)
        inputs.append(scratch / f"cover{suffix}")
        input_args += ["-map", "2:v", "-c:v", "copy", "-disposition:v", "attached_pic"]
    language = ISO639_2.get((book.language or "")[:2].lower(), "")
    encoder = Encoder(m4b, "m4b", codec_args("m4b", PRESETS[options.loudness], options), options, extra_inputs=inputs,
                      input_args=input_args + (["-metadata:s:a:0", f"language={language}"] if language else []))
    encoder.finish = lambda tmp: tag_synthetic(tmp, "m4b", SYNTHETIC)
    with encoder:
        yield encoder


def _encode_chapter(placement: ChapterPlacement, start: int, number: str, track: str, assembly: Assembly,
                    book_encoder: Encoder, keep: bool = False) -> ChapterResult:
    """One chapter file, its samples also fed to the book's encoder; `number` is zero-padded, `track` is n/N.
    With `keep`, the file already holds these samples and is not written again."""
    options, cache, ceiling = assembly.options, assembly.cache, assembly.ceiling
    preset = PRESETS[options.loudness]
    correction = normalize_chapter(placement, cache, ceiling, options)
    title = placement.chapter.title
    target = assembly.out / "chapters" / f"{number} {safe_name(title, f'chapter {int(number)}')}.{options.format}"
    chapter_tags = assembly.tags | {"title": title, "track": track, "AI_GENERATED": "true"}
    if keep:
        encoder = contextlib.nullcontext(None)
    else:
        encoder = Encoder(target, options.format, codec_args(options.format, preset, options), options, chapter_tags)
        encoder.finish = lambda tmp: tag_synthetic(tmp, options.format, SYNTHETIC)
    meter, peak = LoudnessMeter(SAMPLE_RATE), float("-inf")
    with encoder as chapter_file:
        for block in chapter_blocks(placement, cache, correction, ceiling, options):
            meter.feed(block)
            peak = max(peak, true_peak_db(block)) if block.size else peak
            if chapter_file is not None:
                chapter_file.write(block)
            book_encoder.write(block)
    return ChapterResult(placement, start, target, round(meter.level(preset.measure), 2), round(peak, 2),
                         round(correction, 2), tuple(meter.curve(preset.measure)))
