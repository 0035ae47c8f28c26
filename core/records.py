"""The records that flow through the stages: Book -> Chapter -> Chunk, then ChunkAudio.

Ids are derived from position (`ch003-s00042`), so they are stable across runs
of the same input; audio lengths are integer sample counts, durations derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class Boundary(str, Enum):
    """What follows a chunk; post-processing turns it into a pause."""

    SENTENCE = "sentence"
    PARAGRAPH = "paragraph"
    SECTION = "section"
    CHAPTER = "chapter"


@dataclass(frozen=True)
class Chunk:
    id: str  # "ch003-s00042"
    chapter: int
    text: str  # as written in the source (manifest and subtitles show this)
    normalized: str  # what the model reads
    boundary: Boundary = Boundary.SENTENCE
    voice: str | None = None  # a voice of its own, as the text or the options name it; None: the narrator's
    role: str = "narration"  # why: "narration", "voice mark", "dialogue", "attributed to NAME"
    pause: float | None = None  # seconds of pause after it, when a mark sets it


@dataclass(frozen=True)
class Chapter:
    index: int
    title: str
    chunks: tuple[Chunk, ...]
    source: str = ""  # where it begins in an EPUB ("text/ch1.xhtml#c2", relative to the package document)
    pages: tuple[tuple[str, str], ...] = ()  # the print pages that begin in it: (page number, the chunk read first on it)


@dataclass(frozen=True)
class Omission:
    """Something in the source that is not read aloud, so that nothing is dropped without a word."""

    kind: str  # one of NOT_READ
    where: str  # the section (or file) it is in
    words: int
    detail: str = ""  # why, or what: the matter's kind, a note's id, the start of an alt text


# What can be left unread, in the order reports list them.
NOT_READ = ("front and back matter", "notes", "math", "image text", "outside the reading order",
            "nothing to speak", "page numbers", "line numbers", "running heads")


@dataclass(frozen=True)
class Book:
    source: Path
    title: str
    chapters: tuple[Chapter, ...]
    author: str | None = None
    language: str | None = None
    date: str | None = None  # publication date as the source gives it
    cover: bytes | None = field(default=None, repr=False, compare=False)  # image bytes
    skipped: tuple[tuple[str, str], ...] = ()  # (section title, why it is not read)
    omitted: tuple[Omission, ...] = ()  # every piece of text not read aloud, skipped sections included
    warnings: tuple[str, ...] = ()
    pronunciations: tuple[tuple[str, str], ...] = ()  # (word, respelling) from the text's [word](say: ...) marks

    @property
    def chunks(self) -> list[Chunk]:
        return [chunk for chapter in self.chapters for chunk in chapter.chunks]

    @property
    def words_read(self) -> int:
        return sum(len(chunk.text.split()) for chunk in self.chunks)

    @property
    def words_not_read(self) -> int:
        return sum(o.words for o in self.omitted)


@dataclass(frozen=True)
class WordTime:
    """A text word and where it is spoken, in samples of the audio it was aligned in."""

    word: str
    start: int
    end: int


@dataclass(frozen=True)
class Sound:
    """What one take sounds like, measured on its audio alone (verify/sound.py, verify/speaker.py)."""

    seconds: float
    voiced_seconds: float  # without its silences: what pace and the speaker embedding rest on
    snr_db: float  # loud frames over the noise floor (its quietest tenth)
    clipped: float  # fraction of samples at full scale
    longest_pause: float  # seconds of the longest silence between two sounds
    end_db: float  # the last 20 ms over the noise floor: a finished take ends at its floor, a cut one above it
    embedding: tuple[float, ...] = ()  # the speaker embedding, when the voice check runs
    mos: tuple[float, float, float] | None = None  # DNSMOS SIG, BAK, OVRL, when the mos check runs


# A flag's kind is the word before its colon; every kind not named here is about the words.
FLAG_KINDS = ("words", "voice", "quality", "pace")


def flag_kind(flag: str) -> str:
    kind = flag.split(":", 1)[0]
    return kind if kind in FLAG_KINDS else "words"


@dataclass(frozen=True)
class Verdict:
    """What verification found in one take's audio: no flags means it says its text, in its voice, cleanly.

    The recognizer's fields and `sound` are measured on the take alone and stored by its audio key;
    the rest is judged against the book's (or dataset's) own takes of the same voice (verify/gates.py)."""

    backend: str
    transcript: str  # what the recognizer heard, normalized words
    wer: float  # word error rate of the transcript against the chunk's normalized text
    misfit: float | None  # how much worse the text fits the audio than free recognition (None: it did not align)
    flags: tuple[str, ...] = ()
    words: tuple[WordTime, ...] = ()  # aligned text words, in samples of the chunk
    sound: Sound | None = None
    similarity: float | None = None  # to the voice's reference: its cloned sample, else the book's centroid of it
    drift: float | None = None  # to the book's centroid of the voice (the same as similarity without a sample)
    pace: float | None = None  # voiced seconds per word
    # False: the recognizer cannot hear this voice, its word flags are `advisory`; None: words were not checked
    words_checked: bool | None = True
    advisory: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.flags

    @property
    def status(self) -> str:
        """passed, flagged, or unverified (nothing flagged, but its words could not be checked)."""
        return "flagged" if self.flags else "unverified" if self.words_checked is False else "passed"

    def count(self, kind: str) -> int:
        return sum(flag_kind(f) == kind for f in self.flags)

    def scores(self) -> dict[str, float]:
        """The take's scores as flat numbers: what the manifest, the reports and a corpus's columns carry."""
        out = {"similarity": self.similarity, "drift": self.drift, "pace": self.pace}
        if sound := self.sound:
            out |= {"snr_db": sound.snr_db, "clipped": sound.clipped, "longest_pause": sound.longest_pause,
                    "end_db": sound.end_db}
            out |= dict(zip(("mos_sig", "mos_bak", "mos_ovrl"), sound.mos or ()))
        return {name: value for name, value in out.items() if value is not None}


@dataclass(frozen=True)
class Take:
    """One synthesis of a chunk (attempt 0, then regenerations with new seeds) and its verdict."""

    attempt: int
    key: str
    verdict: Verdict


@dataclass(frozen=True)
class ChunkAudio:
    """What synthesizing one chunk produced: the cache key names its audio file."""

    key: str
    samples: int
    sample_rate: int
    max_length: bool  # generation ran to the model's max length without EOS
    worker: str
    wall_seconds: float
    sha256: str = ""  # of the cached WAV file, checked before it is used
    # Set when the chunk was verified (never stored in the audio cache): the chosen take's verdict,
    # and every take the chunk had, this one among them.
    verdict: Verdict | None = None
    takes: tuple[Take, ...] = ()

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate


def chunk_id(chapter: int, sentence: int) -> str:
    return f"ch{chapter:03d}-s{sentence:05d}"
