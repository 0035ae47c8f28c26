"""The live display: chunks done/total, audio seconds produced, speed against real time, ETA."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn


class SynthProgress:
    def __init__(self, total: int, console: Console | None = None):
        self.audio_seconds = 0.0
        self.started = time.perf_counter()
        self.progress = Progress(
            TextColumn("[bold]synthesizing"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            TextColumn("{task.fields[audio]:.1f} s audio"),
            TextColumn("{task.fields[speed]:.2f}× real time"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self.task = self.progress.add_task("synth", total=total, audio=0.0, speed=0.0)

    def __enter__(self) -> SynthProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def advance(self, seconds_of_audio: float) -> None:
        self.audio_seconds += seconds_of_audio
        wall = time.perf_counter() - self.started
        self.progress.update(self.task, advance=1, audio=self.audio_seconds,
                             speed=self.audio_seconds / wall if wall else 0.0)
