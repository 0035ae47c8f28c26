"""Where everything lives in an output folder, known in this one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".pocket-batch"  # run state: the lock and each book's state


@dataclass(frozen=True)
class OutputLayout:
    root: Path

    @property
    def cache(self) -> Path:
        """Every chunk's audio, named by its key (synth/cache.py)."""
        return self.root / "cache"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def lock(self) -> Path:
        return self.state / "lock"

    @property
    def books(self) -> Path:
        """One JSON state per input (pipeline/state.py)."""
        return self.state / "books"

    def book_state(self, source: Path) -> Path:
        return self.books / f"{source.name}.json"

    @staticmethod
    def is_output(folder: Path) -> bool:
        return (folder / STATE_DIR).is_dir()

    @staticmethod
    def outputs_under(folder: Path) -> list[Path]:
        """Output folders one level down (one per voice of a job)."""
        return sorted(p.parent for p in folder.glob(f"*/{STATE_DIR}"))
