"""Reading outputs back with ffmpeg's own tools, not with our code."""

from __future__ import annotations

import re
import subprocess

from pocket_batch.core.config import PostprocOptions
from pocket_batch.postproc.encode import ffmpeg_exe

FFMPEG = ffmpeg_exe(PostprocOptions())
RATE = 24_000
AAC_FRAME = 1024 / RATE


def ebur128(path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) as ffmpeg's own meter reads them."""
    log = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
                          "-f", "null", "-"], capture_output=True, text=True, timeout=120).stderr
    summary = log[log.rindex("Summary:"):]
    return (float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1)),
            float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1)))


def chapters_of(path) -> list[tuple[float, float, str]]:
    text = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True, timeout=60).stdout
    marks = []
    for block in text.split("[CHAPTER]")[1:]:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        num, den = map(int, fields["TIMEBASE"].split("/"))
        marks.append((int(fields["START"]) * num / den, int(fields["END"]) * num / den, fields["title"]))
    return marks


def decoded_seconds(path, rate: int = 48_000) -> float:
    """An audio file's length as ffmpeg decodes it, to the sample."""
    pcm = subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "f32le", "-ac", "1",
                          "-ar", str(rate), "-"], capture_output=True, timeout=120, check=True).stdout
    return len(pcm) / 4 / rate
