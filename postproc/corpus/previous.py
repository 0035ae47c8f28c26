"""The rows an earlier run published, read alongside this run's in step, so a rerun keeps what is still right.

Rows come in prompt order on every run: appending prompts to a million-row corpus meets each old row as
the new run reaches it. Holding only a window of rows ahead, memory stays flat; a row found nowhere in
the window (prompts reordered beyond it) is written again, which is correct, only slower.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

WINDOW = 4096


class PreviousRows:
    """`by`: the field rows are claimed by (a WAV's file name; or an id, where only its texts are wanted)."""

    def __init__(self, manifest: Path, window: int = WINDOW, by: str = "file_name"):
        self.by = by
        self.rows = self._read(manifest, by)
        self.ahead: OrderedDict[str, dict] = OrderedDict()
        self.window = window
        self.unclaimed: list[dict] = []  # passed over: not in this run (so far), given back by `passed()`

    @staticmethod
    def _read(manifest: Path, by: str) -> Iterator[dict]:
        try:
            f = manifest.open(encoding="utf-8")
        except OSError:
            return
        with f:
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:  # a torn last line of a run that stopped: its rows are written again
                    continue
                if isinstance(row, dict) and isinstance(row.get(by), str):
                    yield row

    def claim(self, value: str) -> dict | None:
        """The earlier row of this WAV (or id), if it is within reach."""
        if value in self.ahead:
            return self.ahead.pop(value)
        for row in self.rows:
            if row[self.by] == value:
                return row
            self.ahead[row[self.by]] = row
            if len(self.ahead) > self.window:
                self.unclaimed.append(self.ahead.popitem(last=False)[1])
            if len(self.ahead) >= self.window:
                break
        return None

    def passed(self) -> list[dict]:
        """Old rows given up on since the last call (beyond the window): this run does not publish them there."""
        out, self.unclaimed = self.unclaimed, []
        return out

    def rest(self) -> Iterator[dict]:
        """After the last row of this run: every old row it did not claim."""
        yield from self.passed()
        yield from self.ahead.values()
        self.ahead = OrderedDict()
        yield from self.rows
