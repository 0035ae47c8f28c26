"""The speaking rate (`--rate`): each chunk's audio made faster or slower, its pitch kept, by ffmpeg's atempo.

A chunk at a rate is stored in the chunk cache beside its take, under a key of its own, so the
three passes over a chapter (two to measure, one to encode) and every rerun read the same samples.
"""

from __future__ import annotations

import subprocess

import numpy as np

from pocket_batch.core.config import SAMPLE_RATE, PostprocOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.records import ChunkAudio
from pocket_batch.postproc.encode import ffmpeg_exe
from pocket_batch.synth.model.cache import AudioCache


def tempo_key(key: str, rate: float) -> str:
    return f"{key}-rate{rate:g}"


def at_rate(record: ChunkAudio, rate: float, cache: AudioCache, options: PostprocOptions) -> ChunkAudio:
    """The chunk's audio at `rate` (1: the take itself), from the cache or made once."""
    if rate == 1.0:
        return record
    key = tempo_key(record.key, rate)
    if found := cache.get(key):
        return found
    return cache.put(key, stretch(cache.read(record.key), rate, options), SAMPLE_RATE, max_length=record.max_length,
                     worker=record.worker, wall_seconds=0.0)


def stretch(x: np.ndarray, rate: float, options: PostprocOptions) -> np.ndarray:
    command = [ffmpeg_exe(options), "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "f32le", "-ar",
               str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0", "-af", f"atempo={rate:g}", "-f", "f32le", "pipe:1"]
    done = subprocess.run(command, input=np.asarray(x, dtype="<f4").tobytes(), capture_output=True)
    if done.returncode != 0:
        raise PocketBatchError(f"ffmpeg atempo={rate:g} failed ({done.stderr.decode(errors='replace').strip()[-200:]})")
    return np.frombuffer(done.stdout, dtype="<f4").copy()
