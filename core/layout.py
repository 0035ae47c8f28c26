"""Where everything lives in an output folder, known in this one place."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pocket_batch.core.errors import PocketBatchError

STATE_DIR = ".pocket-batch"  # run state: the lock and each book's state
NAME_BYTES = 100  # a title in a file name; file systems allow 255 bytes, and temp names add a few
UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
# A chunk's audio key: sha256_json(...)[:32], with a suffix for a variant ("-rate1.15"). Never a path: no
# separator, and a first character that is no dot, so its folder (key[:2]) is never "..".
KEY = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.+-]{0,127}")
FINGERPRINT = re.compile(r"[0-9A-Za-z_.-]{1,64}")  # a verifier's folder name: "pocketsphinx-1a2b3c4d5e6f"


def key_path(root: Path, key: str, suffix: str) -> Path:
    """Where the file of a chunk key lives under `root`. A key is read back from manifests, states and
    records anyone with write access to the folder can edit: anything but a key is refused, never a path."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise PocketBatchError(f"{key!r}: not a chunk key")
    return root / key[:2] / f"{key}{suffix}"


def fingerprint_folder(root: Path, fingerprint: str) -> Path:
    if not FINGERPRINT.fullmatch(fingerprint) or fingerprint.strip(".") == "":
        raise PocketBatchError(f"{fingerprint!r}: not a verifier's fingerprint")
    return root / fingerprint


def safe_name(title: str, fallback: str) -> str:
    """A title as one file name: no separators or control characters, at most NAME_BYTES of UTF-8,
    never empty, hidden, "." or ".."."""
    name = " ".join(UNSAFE.sub(" ", title).split())
    name = name.encode("utf-8")[:NAME_BYTES].decode("utf-8", errors="ignore").strip(" .")
    return name or fallback


def inside(root: Path, path: Path) -> Path:
    """`path`, after checking that it resolves inside `root` (an output never escapes its folder)."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise PocketBatchError(f"{path}: outside the output folder {root}")
    return path


@dataclass(frozen=True)
class OutputLayout:
    root: Path

    @property
    def cache(self) -> Path:
        """Every chunk's audio, named by its key (synth/model/cache.py)."""
        return self.root / "cache"

    @property
    def verdicts(self) -> Path:
        """Each verified chunk's verdict, by key, under the recognizer's fingerprint (verify/store.py)."""
        return self.root / "verdicts"

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
        name = source.name
        if len(name.encode("utf-8")) > NAME_BYTES:  # 82 CJK characters are 246 bytes: cut, told apart by a hash
            name = f"{safe_name(name, 'book')}-{hashlib.sha256(name.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"
        return self.books / f"{name}.json"

    @staticmethod
    def is_output(folder: Path) -> bool:
        return (folder / STATE_DIR).is_dir()

    @staticmethod
    def outputs_under(folder: Path) -> list[Path]:
        """Output folders one level down (one per voice of a job)."""
        return sorted(p.parent for p in folder.glob(f"*/{STATE_DIR}"))
