"""What each book of an output folder needs and how far it got, on disk, for `status` and resume.

A run writes a book's state when it plans the book (its chunk keys) and again when
the book is done or has failed. `status` reads these and the chunk cache: no model,
no Ray, nothing but files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pocket_batch.core.files import read_record, write_record
from pocket_batch.core.layout import OutputLayout
from pocket_batch.postproc.manifest import Manifest, intact_manifest
from pocket_batch.synth.model.cache import AudioCache

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class BookState:
    source: str  # the input file
    sha256: str  # of the input when planned
    settings: str  # hash of every setting that changes the audio
    folder: str  # where its outputs go, relative to the output folder: a copied or moved folder is itself
    status: str = PENDING
    keys: list[str] = field(default_factory=list)  # every chunk's cache key, in reading order
    reason: str = ""  # why it failed
    failed_chunks: dict[str, str] = field(default_factory=dict)  # key -> reason
    audio_seconds: float = 0.0


def state_path(output: Path, source: Path) -> Path:
    return OutputLayout(output).book_state(source)


def write_state(output: Path, state: BookState) -> None:
    write_record(state_path(output, Path(state.source)), state)


def read_states(output: Path) -> list[BookState]:
    folder = OutputLayout(output).books
    return [read_record(p, BookState) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def is_finished(output: Path, source: Path, sha256: str, settings: str) -> bool:
    """Done with these very bytes and settings, its manifest readable and every file it names in place."""
    return finished_manifest(output, source, sha256, settings) is not None


def finished_manifest(output: Path, source: Path, sha256: str, settings: str) -> Manifest | None:
    """The manifest of a book finished with these very bytes and settings, its files in place; else None."""
    path = state_path(output, source)
    if not path.is_file():
        return None
    state = read_record(path, BookState)
    if state.status != DONE or state.sha256 != sha256 or state.settings != settings or Path(state.folder).is_absolute():
        return None  # an absolute folder is an older version's, maybe another folder's: finished again, from the cache
    return intact_manifest(output / state.folder)


def chunks_done(output: Path, state: BookState) -> int:
    cache = AudioCache(OutputLayout(output).cache)
    return sum(cache.has(key) for key in set(state.keys))
