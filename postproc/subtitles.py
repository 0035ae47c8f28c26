"""SRT and WebVTT: one cue per chunk, times exact from sample counts, the original text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pocket_batch.core.files import atomic_open


@dataclass(frozen=True)
class Cue:
    start: int  # samples from the start of the book
    end: int
    text: str


def timestamp(samples: int, rate: int, separator: str) -> str:
    ms = round(samples * 1000 / rate)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{ms:03d}"


def write_srt(path: Path, cues: list[Cue], rate: int) -> None:
    with atomic_open(path) as f:
        for n, cue in enumerate(cues, start=1):
            f.write(f"{n}\n{timestamp(cue.start, rate, ',')} --> {timestamp(cue.end, rate, ',')}\n{cue.text}\n\n")


def write_vtt(path: Path, cues: list[Cue], rate: int) -> None:
    with atomic_open(path) as f:
        f.write("WEBVTT\n\n")
        for cue in cues:
            # "-->" inside a cue would end its timing line early
            f.write(f"{timestamp(cue.start, rate, '.')} --> {timestamp(cue.end, rate, '.')}\n"
                    f"{cue.text.replace('-->', '->')}\n\n")
