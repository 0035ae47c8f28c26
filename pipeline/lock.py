"""One run at a time per output folder: an OS lock that dies with its holder.

flock is released by the kernel when the holding process exits, however it exits
(kill -9 included), so a lock left by a dead run never blocks the next one. The
file keeps the holder's pid only so the refusal can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from pocket_batch.core.files import PARTIAL_SUFFIX, SCRATCH_PREFIX
from pocket_batch.core.errors import OutputLocked
from pocket_batch.core.layout import OutputLayout


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    path = OutputLayout(output).lock
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by Ray's or ffmpeg's processes
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise OutputLocked(f"{output}: another pocket-batch run (pid {holder}) is writing here; "
                               "this one exits without touching it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def lock_holder(output: Path) -> int | None:
    """The pid of a live run holding the folder's lock, else None (reads, never blocks)."""
    path = OutputLayout(output).lock
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text.isdigit() else -1
    finally:
        os.close(fd)
    return None


def remove_partial_files(output: Path) -> int:
    """Temp files and scratch folders a killed run left behind, by the names only this program gives them
    (core/files.py); links are never followed (rglob does not enter linked folders)."""
    removed = 0
    for path in output.rglob(f".*{PARTIAL_SUFFIX}"):
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    for path in output.rglob(f"{SCRATCH_PREFIX}*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
