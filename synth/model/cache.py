"""A content-addressed store of chunk audio: the same key always names the same file.

The WAV lands first, its JSON record second (both atomically): a chunk counts
as done only when its record exists, so a crash mid-write is simply redone, and
a committed chunk is never replaced (a late result for the same key is dropped).

The record holds the WAV's SHA-256 and sample count. The first time a run uses an
entry it is checked against them; an entry that fails (truncated, flipped bytes,
a record without its WAV) is deleted, logged, and so synthesized again. That check is
also why entries are not fsynced: an entry a power cut leaves short is caught by it, and
an fsync per chunk was most of the driver's own time (docs/performance.md, bench driver).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from pocket_batch.core.audio import float_wav_header
from pocket_batch.core.layout import KEY, key_path
from pocket_batch.core.files import atomic_path, read_record, sha256_file, write_record
from pocket_batch.core.records import ChunkAudio

log = logging.getLogger("pocket_batch")


class NonFiniteAudio(ValueError):
    """Audio with NaN or infinite samples: never stored, never used."""


class AudioCache:
    def __init__(self, root: Path):
        self.root = root
        self.verified: set[str] = set()  # keys whose WAV this process has checked against its record

    def wav_path(self, key: str) -> Path:
        return key_path(self.root, key, ".wav")

    def _record_path(self, key: str) -> Path:
        return key_path(self.root, key, ".json")

    def has(self, key: str) -> bool:
        """Committed (a record and its WAV), without checking its content: cheap, for `status`."""
        return bool(KEY.fullmatch(key)) and self._record_path(key).is_file() and self.wav_path(key).is_file()

    def get(self, key: str) -> ChunkAudio | None:
        """The entry's record, once its WAV has been checked in this process; None if absent or broken."""
        record_path = self._record_path(key)
        if not record_path.is_file():
            return None
        try:
            entry = read_record(record_path, ChunkAudio)
        except ValueError:  # not JSON, or not a record
            return self._discard(key, "unreadable record")
        if key not in self.verified:
            problem = self._problem(key, entry) if entry.sha256 else self._unhashed_problem(key, entry)
            if problem:
                return self._discard(key, problem)
            if not entry.sha256:  # written before records held a hash: checked by decoding, then hashed
                entry = replace(entry, sha256=sha256_file(self.wav_path(key)))
                _store(record_path, entry)
            self.verified.add(key)
        return entry

    def _problem(self, key: str, entry: ChunkAudio) -> str | None:
        wav = self.wav_path(key)
        if not wav.is_file():
            return "WAV missing"
        data = wav.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            return "WAV does not match its recorded SHA-256"
        # A matching hash proves the record and WAV agree, not that the audio is sound: a NaN WAV with its own
        # hash would otherwise stop its book on every rerun. Our header, then float32 samples: checked in place.
        header = float_wav_header(entry.samples, entry.sample_rate)
        try:
            audio = (np.frombuffer(data, "<f4", offset=len(header)) if data.startswith(header)
                     else sf.read(io.BytesIO(data), dtype="float32")[0])  # another writer's WAV: decoded
        except (OSError, RuntimeError) as exc:  # soundfile's errors are RuntimeErrors
            return f"undecodable WAV ({exc})"
        return None if np.isfinite(audio).all() else "NaN or infinite samples"

    def _unhashed_problem(self, key: str, entry: ChunkAudio) -> str | None:
        try:
            audio = self.read(key)
        except (OSError, RuntimeError, NonFiniteAudio) as exc:  # soundfile's errors are RuntimeErrors
            return f"undecodable WAV ({exc})"
        return None if audio.size == entry.samples else f"{audio.size} samples where the record says {entry.samples}"

    def _discard(self, key: str, problem: str) -> None:
        log.warning("cache entry %s: %s; removed, it will be synthesized again", key, problem)
        self._record_path(key).unlink(missing_ok=True)  # the record first: without it the entry is absent
        self.wav_path(key).unlink(missing_ok=True)
        self.verified.discard(key)
        return None

    def put(self, key: str, audio: np.ndarray, sample_rate: int, sha256: str = "", **meta) -> ChunkAudio:
        """Store a chunk's audio; `sha256`: the WAV's digest if its worker took it (wav_sha256), else taken here."""
        if committed := self.get(key):
            return committed
        if not np.isfinite(audio).all():
            raise NonFiniteAudio(f"chunk {key}: {int(np.count_nonzero(~np.isfinite(audio)))} samples are NaN or infinite")
        header, samples = _wav_parts(audio, sample_rate)
        with atomic_path(self.wav_path(key), durable=False) as tmp, open(tmp, "wb") as f:
            f.write(header)
            f.write(samples)
        entry = ChunkAudio(key=key, samples=int(audio.size), sample_rate=sample_rate,
                           sha256=sha256 or _digest(header, samples), **meta)
        _store(self._record_path(key), entry, durable=False)
        self.verified.add(key)
        return entry

    def read(self, key: str) -> np.ndarray:
        audio, _ = sf.read(self.wav_path(key), dtype="float32")
        if not np.isfinite(audio).all():
            raise NonFiniteAudio(f"{self.wav_path(key)}: NaN or infinite samples")
        return audio


def wav_sha256(audio: np.ndarray, sample_rate: int) -> str:
    """The SHA-256 of the WAV `put` writes for this audio. A worker takes it beside the model: a run has
    many workers and one driver, and hashing was the largest part of the driver's CPU per chunk."""
    return _digest(*_wav_parts(audio, sample_rate))


def _wav_parts(audio: np.ndarray, sample_rate: int) -> tuple[bytes, memoryview]:
    """The WAV's header and samples straight from the array: written by Python, a full disk is an OSError
    naming the file."""
    return float_wav_header(audio.size, sample_rate), memoryview(np.ascontiguousarray(audio, dtype="<f4")).cast("B")


def _digest(header: bytes, samples: memoryview) -> str:
    digest = hashlib.sha256(header)
    digest.update(samples)
    return digest.hexdigest()


def _store(path: Path, entry: ChunkAudio, durable: bool = True) -> None:
    """The record as the cache keeps it: what synthesis made, not what a run later learned of it."""
    write_record(path, entry, exclude={"verdict", "takes"}, durable=durable)
