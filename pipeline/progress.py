"""What the user watches: live chunks done/total, audio, speed and ETA; a table of outcomes at the end."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pocket_batch.core.measure import clock


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


def run_table(runs: list) -> Table:
    """The end-of-run table: each book's outcome, then the run's totals and speed against real time."""
    table = Table("book", "result", "chapters", "audio", title="pocket-batch run")
    for run in runs:
        for b in run.books:
            result = "[green]done[/]" if not b.error else f"[red]failed[/]: {b.error}"
            table.add_row(b.source.name, result, str(b.chapters or ""), clock(b.audio_seconds) if b.audio_seconds else "")
    audio = sum(b.audio_seconds for run in runs for b in run.books)
    wall = sum(run.wall_seconds for run in runs)
    failed = sum(len(run.failed) for run in runs)
    speed = f", {audio / wall:.1f}× real time" if wall and audio else ""
    table.caption = (f"{sum(len(r.books) for r in runs)} books, {failed} failed, {clock(audio)} of audio "
                     f"in {clock(wall)} wall{speed}; {sum(r.synthesized for r in runs)} chunks synthesized")
    return table
