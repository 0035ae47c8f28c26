"""What the user watches: live chunks done/total, audio, speed and ETA; a table of outcomes at the end."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from pocket_batch.core.measure import clock


class SynthProgress:
    """Chunks done, audio made, speed against real time, and an ETA from the text still to be read.

    The ETA is the audio the remaining text should make (at the seconds per character seen so far)
    over the audio made per wall second since the first result: the model's loading and warm-up before
    it are not a rate the rest of the run goes at, so no ETA is shown until a second result.
    """

    def __init__(self, texts: dict[str, str], summary: str = "", console: Console | None = None):
        self.summary = summary  # printed above the bar: what the run holds, what it must make
        self.chars = {key: len(text) for key, text in texts.items()}
        self.total_chars, self.done_chars = sum(self.chars.values()), 0
        self.audio_seconds = 0.0
        self.started = time.perf_counter()
        self.first: tuple[float, float] | None = None  # when the first result came, and its audio
        self.progress = Progress(
            TextColumn("[bold]synthesizing"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            TextColumn("{task.fields[audio]:.1f} s audio"),
            TextColumn("{task.fields[speed]:.2f}× real time"),
            TextColumn("ETA {task.fields[eta]}"),
            console=console or Console(stderr=True, markup=False, highlight=False),
            transient=False,
        )
        self.task = self.progress.add_task("synth", total=len(texts), audio=0.0, speed=0.0, eta="-:--:--")

    def __enter__(self) -> SynthProgress:
        if self.summary:
            self.progress.console.print(self.summary, highlight=False)
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def advance(self, key: str, seconds_of_audio: float) -> None:
        self.audio_seconds += seconds_of_audio
        self.done_chars += self.chars.get(key, 0)
        now = time.perf_counter()
        wall = now - self.started
        speed = self.audio_seconds / wall if wall else 0.0
        eta = "-:--:--"
        if self.first is None:
            self.first = (now, self.audio_seconds)
        elif now > self.first[0] and self.audio_seconds > self.first[1] and self.done_chars:
            rate = (self.audio_seconds - self.first[1]) / (now - self.first[0])  # audio-s per wall-s, warm
            remaining = (self.total_chars - self.done_chars) * self.audio_seconds / self.done_chars
            eta = clock(remaining / rate)
        self.progress.update(self.task, advance=1, audio=self.audio_seconds, speed=speed, eta=eta)


class EncodeProgress:
    """Post-processing, chapter by chapter: loudness passes and encoding."""

    def __init__(self, title: str, console: Console | None = None):
        self.progress = Progress(TextColumn("[bold]encoding"), TextColumn("{task.description}", markup=False),
                                 BarColumn(), TextColumn("chapter {task.completed}/{task.total}"),
                                 console=console or Console(stderr=True, markup=False, highlight=False),
                                 transient=False)
        self.title, self.task = title, None

    def __enter__(self) -> EncodeProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[0].total)
        self.progress.stop()

    def chapter(self, number: int, total: int, title: str) -> None:
        """Called as chapter `number` of `total` starts (1-based)."""
        if self.task is None:
            self.task = self.progress.add_task(self.title, total=total)
        self.progress.update(self.task, completed=number - 1)


def run_table(runs: list) -> Table:
    """The end-of-run table: each book's outcome, then the run's totals and speed against real time."""
    books = [b for run in runs for b in run.books]
    verified = any(b.verified for b in books)  # the verification columns only where there is something to show
    columns = ("book", "result", "chapters", "audio") + (("verified", "retaken", "flagged") if verified else ())
    table = Table(*columns, title="pocket-batch run")
    for b in books:
        result = (Text.assemble(("failed", "red"), f": {b.error}") if b.error
                  else Text("already finished" if b.already else "done", "green"))
        row = [Text(b.source.name), result, str(b.chapters or ""), clock(b.audio_seconds) if b.audio_seconds else ""]
        if verified:
            flagged = Text(str(b.flagged), "yellow") if b.flagged else ("0" if b.verified else "")
            row += [str(b.verified or ""), str(b.regenerated) if b.verified else "", flagged]
        table.add_row(*row)
    audio = sum(b.audio_seconds for run in runs for b in run.books if not b.already)
    wall = sum(run.wall_seconds for run in runs)
    failed = sum(len(run.failed) for run in runs)
    speed = f", {audio / wall:.1f}× real time" if wall and audio else ""
    table.caption = (f"{sum(len(r.books) for r in runs)} books, {failed} failed, {clock(audio)} of audio "
                     f"in {clock(wall)} wall{speed}; {sum(r.synthesized for r in runs)} chunks synthesized")
    if verified:
        table.caption += (f"; chunks verified {sum(b.verified for b in books)}, retaken "
                          f"{sum(b.regenerated for b in books)}, still flagged {sum(b.flagged for b in books)}")
    return table
