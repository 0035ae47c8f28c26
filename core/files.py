"""Atomic writes, content hashes, and the one way records are kept on disk: a file is either absent or complete."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")


# The names of what a write in progress leaves if the process dies: distinctive, so that cleaning up after a
# killed run removes only this program's files, never a download's `.part` in a folder a user chose as -o.
PARTIAL_SUFFIX = ".pocket-batch-partial"
SCRATCH_PREFIX = ".pocket-batch-scratch-"


@contextlib.contextmanager
def atomic_path(target: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success fsync it (if `durable`) and rename it into place.

    Not durable: the file is whole or absent after the process dies, but a power cut may leave it
    short; for files whose content is checked against a hash before use (the audio cache).
    """
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX)
    except FileNotFoundError:  # the first file of its folder: the one syscall more, only then
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX)
    tmp_path = Path(tmp)
    try:
        try:
            os.fchmod(fd, _MODE)  # mkstemp makes 0600; the file gets the mode a plain open would give it
        finally:
            os.close(fd)
        yield tmp_path
        if durable:
            with open(tmp_path, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp_path, target)
    except BaseException as exc:
        tmp_path.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:  # a failed write names no file: name the target
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import: os.umask can only be read by setting it, and setting it while another thread
# creates a file would give that file the wrong mode.
_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_open(target: Path, mode: str = "w", durable: bool = True) -> Iterator[IO[Any]]:
    with atomic_path(target, durable) as tmp, open(tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
        yield f


def write_json(target: Path, data: Any, durable: bool = True) -> None:
    with atomic_open(target, durable=durable) as f:
        json.dump(data, f, indent=2, ensure_ascii=False, default=str)
        f.write("\n")


@functools.cache
def _adapter(kind: type) -> TypeAdapter:
    return TypeAdapter(kind)


def write_record(target: Path, record: Any, exclude: set[str] | None = None, durable: bool = True) -> None:
    """A record (a pydantic model or a dataclass of core.records) as its type's JSON: the manifest, book
    states, verdicts and cache records are all kept this way, and read back by `read_record`."""
    write_json(target, _adapter(type(record)).dump_python(record, mode="json", exclude=exclude), durable)


def read_record(path: Path, kind: type[T]) -> T:
    """The record `write_record` kept at `path`, validated against its type: OSError if it cannot be read,
    ValueError (pydantic's errors are ValueErrors) if it is not JSON or not such a record."""
    return _adapter(kind).validate_json(path.read_bytes())


def link_file(source: Path, link: Path) -> None:
    """`link` names the same file as `source` (replacing whatever it named), or, on a file system without hard
    links, holds a copy of it."""
    if link.exists() and link.samefile(source):
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.link")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:  # a file system without hard links: a copy
        shutil.copyfile(source, temporary)
    os.replace(temporary, link)


def package_file(package: str, *parts: str, install: str) -> Path:
    """A file shipped inside an installed package, found without importing the package (its imports may not
    work here, or cost what the file does not need); ImportError naming `install` when it is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package} is not installed: pip install {install}")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(block):
            digest.update(data)
    return digest.hexdigest()


def sha256_json(data: Any) -> str:
    """Hash of a JSON-able value, independent of dict order."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
