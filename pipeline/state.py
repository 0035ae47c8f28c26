"""What each book of an output folder needs and how far it got, on disk, for `status` and resume.

A run writes a book's state when it plans the book (its chunk keys) and again when
the book is done or has failed. `status` reads these and the chunk cache: no model,
no Ray, nothing but files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pocket_batch.core.files import write_json
from pocket_batch.core.layout import OutputLayout
from pocket_batch.core.reports import Manifest
from pocket_batch.synth.model.cache import AudioCache

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class BookState:
    source: str  # the input file
    sha256: str  # of the input when planned
    settings: str  # hash of every setting that changes the audio
    folder: str  # where its outputs go
    status: str = PENDING
    keys: list[str] = field(default_factory=list)  # every chunk's cache key, in reading order
    reason: str = ""  # why it failed
    failed_chunks: dict[str, str] = field(default_factory=dict)  # key -> reason
    audio_seconds: float = 0.0


def state_path(output: Path, source: Path) -> Path:
    return OutputLayout(output).book_state(source)


def write_state(output: Path, state: BookState) -> None:
    write_json(state_path(output, Path(state.source)), asdict(state))


def read_states(output: Path) -> list[BookState]:
    folder = OutputLayout(output).books
    return [BookState(**json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def is_finished(output: Path, source: Path, sha256: str, settings: str) -> bool:
    """Done with these very bytes and settings, its manifest readable and every file it names in place."""
    return finished_manifest(output, source, sha256, settings) is not None


def finished_manifest(output: Path, source: Path, sha256: str, settings: str) -> Manifest | None:
    """The manifest of a book finished with these very bytes and settings, its files in place; else None."""
    path = state_path(output, source)
    if not path.is_file():
        return None
    state = BookState(**json.loads(path.read_text()))
    if state.status != DONE or state.sha256 != sha256 or state.settings != settings:
        return None
    return _intact_manifest(Path(state.folder))


def _intact_manifest(folder: Path) -> Manifest | None:
    try:
        manifest = Manifest.read(folder / "manifest.json")
    except (OSError, ValueError):  # missing, not JSON, or not the schema (pydantic's errors are ValueErrors)
        return None
    return manifest if manifest.intact(folder) else None


def chunks_done(output: Path, state: BookState) -> int:
    cache = AudioCache(OutputLayout(output).cache)
    return sum(cache.has(key) for key in set(state.keys))
