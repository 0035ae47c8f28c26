"""What every corpus format is: a writer that takes the published rows one at a time, in order.

A row is the manifest's (postproc/corpus/rows.py): its WAV is `wavs/<file_name>` under the corpus
folder. Formats write atomically and stream: none holds more than a shard's rows, so a million-row
corpus costs what a thousand-row one does per row. Files of one text each (metadata, JSONL) are
written anew each run; audio shards are written only when their rows changed (shards.py).
"""

from __future__ import annotations

import gzip
import json
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, ClassVar

from pocket_batch.core.config import CorpusConfig
from pocket_batch.core.files import atomic_open


class Format:
    name: ClassVar[str]
    folder: ClassVar[str]  # under the corpus folder
    loader: ClassVar[str]  # the one line that loads it, for the card

    def __init__(self, corpus: Path, config: CorpusConfig):
        self.corpus, self.config = corpus, config
        self.root = corpus / self.folder
        self._files = ExitStack()

    def __enter__(self) -> Format:
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None:
            self.finish()
        self._files.__exit__(kind, *exc)  # atomic files: renamed into place on success, else discarded

    def add(self, row: dict) -> None:
        raise NotImplementedError

    def drop(self, old: dict) -> None:
        """An earlier run published `old`, and this run does not publish it there (left out, or in another split)."""

    def finish(self) -> None:
        """All rows are in: the last shard, indexes."""

    def text_file(self, path: Path) -> IO[str]:
        path.parent.mkdir(parents=True, exist_ok=True)
        return self._files.enter_context(atomic_open(path))

    def gzip_file(self, path: Path) -> IO[str]:
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = self._files.enter_context(atomic_open(path, "wb"))
        # mtime 0: the same rows give the same bytes
        return self._files.enter_context(gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0))


class PerSplit:
    """One open file per split, opened on its first row (a split without rows has no file)."""

    def __init__(self, open_file, name: str):
        self.open_file, self.name, self.files = open_file, name, {}

    def write(self, split: str, line: str) -> None:
        if split not in self.files:
            self.files[split] = self.open_file(Path(self.name.format(split=split)))
        f = self.files[split]
        f.write(line.encode() if isinstance(f, gzip.GzipFile) else line)


def json_line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False) + "\n"


def remove_unwritten(folder: Path, names: set[str], pattern: str) -> None:
    """Files an earlier run wrote that this one did not (a split that emptied, shards past the last)."""
    for path in folder.glob(pattern):
        if path.relative_to(folder).as_posix() not in names:
            path.unlink()


__all__ = ["Format", "PerSplit", "json_line", "remove_unwritten"]
