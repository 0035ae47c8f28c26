"""A content-addressed store of chunk audio: the same key always names the same file.

The WAV lands first, its JSON record second (both atomically): a chunk counts
as done only when its record exists, so a crash mid-write is simply redone, and
a committed chunk is never replaced (a late result for the same key is dropped).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf

from pocket_batch.core.files import atomic_path, write_json
from pocket_batch.core.records import ChunkAudio


class AudioCache:
    def __init__(self, root: Path):
        self.root = root

    def wav_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def _record_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> ChunkAudio | None:
        record = self._record_path(key)
        if not record.is_file() or not self.wav_path(key).is_file():
            return None
        return ChunkAudio(**json.loads(record.read_text()))

    def put(self, key: str, audio: np.ndarray, sample_rate: int, **meta) -> ChunkAudio:
        if committed := self.get(key):
            return committed
        with atomic_path(self.wav_path(key)) as tmp:
            sf.write(tmp, audio, sample_rate, subtype="FLOAT", format="WAV")
        entry = ChunkAudio(key=key, samples=int(audio.size), sample_rate=sample_rate, **meta)
        write_json(self._record_path(key), asdict(entry))
        return entry

    def read(self, key: str) -> np.ndarray:
        audio, _ = sf.read(self.wav_path(key), dtype="float32")
        return audio
