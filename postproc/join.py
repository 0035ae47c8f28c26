"""Joining chunk audio in order, streamed from the cache to the file: never the whole book in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pocket_batch.pipeline.files import atomic_path
from pocket_batch.pipeline.records import Chunk, ChunkAudio
from pocket_batch.synth.cache import AudioCache


@dataclass(frozen=True)
class Placed:
    chunk: Chunk
    audio: ChunkAudio
    offset: int  # first sample of the chunk in the joined file


def join_wav(target: Path, chunks: list[Chunk], audio: dict[str, ChunkAudio], keys: dict[str, str],
             cache: AudioCache, sample_rate: int, pause_seconds: float) -> list[Placed]:
    pause = np.zeros(int(round(pause_seconds * sample_rate)), dtype=np.float32)
    placed: list[Placed] = []
    offset = 0
    with atomic_path(target) as tmp, sf.SoundFile(tmp, "w", sample_rate, 1, "PCM_16", format="WAV") as out:
        for n, chunk in enumerate(chunks):
            if n:
                out.write(pause)
                offset += pause.size
            samples = cache.read(keys[chunk.id])
            out.write(np.clip(samples, -1.0, 1.0))
            placed.append(Placed(chunk, audio[chunk.id], offset))
            offset += samples.size
    return placed
