"""The manifest: what went in, which model and voice, and where every chunk sits in the output."""

from __future__ import annotations

import platform
from importlib.metadata import version
from pathlib import Path

from pocket_batch.pipeline.files import sha256_file, write_json
from pocket_batch.pipeline.records import Book
from pocket_batch.postproc.join import Placed

SYNTHETIC_NOTICE = "Narration synthesized with Kyutai Pocket TTS (AI-generated speech)."


def software_versions() -> dict:
    names = ("pocket-batch", "pocket-tts", "torch", "ray", "numpy", "soundfile")
    return {"python": platform.python_version()} | {n: version(n) for n in names}


def write_manifest(target: Path, book: Book, output: Path, placed: list[Placed], *, config: dict,
                   model: dict, voice: dict, sample_rate: int) -> dict:
    total = placed[-1].offset + placed[-1].audio.samples if placed else 0
    manifest = {
        "synthetic_speech": SYNTHETIC_NOTICE,
        "input": {"path": str(book.source), "sha256": sha256_file(book.source), "title": book.title},
        "output": {"path": output.name, "sample_rate": sample_rate, "samples": total,
                   "duration": round(total / sample_rate, 3)},
        "config": config,
        "model": model,
        "voice": voice,
        "software": software_versions(),
        "chunks": [_chunk_row(p, sample_rate) for p in placed],
        "max_length_chunks": [p.chunk.id for p in placed if p.audio.max_length],
    }
    write_json(target, manifest)
    return manifest


def _chunk_row(p: Placed, sample_rate: int) -> dict:
    return {
        "id": p.chunk.id,
        "chapter": p.chunk.chapter,
        "text": p.chunk.text,
        "normalized": p.chunk.normalized,
        "boundary": p.chunk.boundary.value,
        "key": p.audio.key,
        "offset": p.offset,
        "samples": p.audio.samples,
        "start": round(p.offset / sample_rate, 3),
        "duration": round(p.audio.samples / sample_rate, 3),
        "max_length": p.audio.max_length,
        "worker": p.audio.worker,
        "wall_seconds": p.audio.wall_seconds,
    }
