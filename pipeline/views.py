"""What the commands print: a run's outcome, an `inspect` report, a `status` table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocket_batch.core.measure import clock
from pocket_batch.core.records import NOT_READ
from pocket_batch.pipeline.progress import run_table

err = Console(stderr=True)


def first_line(text: str, width: int = 100) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "\u2026"


def show_runs(runs) -> None:
    """The outcome table, then each book's warnings, what it wrote, or its one-line error."""
    err.print(run_table(runs))
    for run in runs:
        for book in run.books:
            for warning in book.warnings:
                err.print(f"[yellow]warning:[/] {book.source.name}: {warning}", highlight=False, soft_wrap=True)
            if book.m4b:
                err.print(f"\u2192 {book.m4b}, with chapters/, subtitles (.srt, .vtt) and manifest.json in "
                          f"{book.m4b.parent}", highlight=False, soft_wrap=True)
            if book.flagged:
                err.print(f"[yellow]{book.flagged} chunks still fail verification[/] (kept): "
                          f"{book.m4b.parent / 'verify.json'} lists them with where to hear each",
                          highlight=False, soft_wrap=True)
        for book in run.failed:
            err.print(f"[red]error:[/] {book.error}", highlight=False, soft_wrap=True)


def size(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def show_inspect(report) -> None:
    console = Console()
    console.print(f"[bold]{report.title}[/] by {report.author or 'unknown'} "
                  f"({report.language or 'language unknown'}): {report.words} words, "
                  f"{report.chunks} chunks ({report.distinct_chunks} distinct), ~{report.minutes} min of audio; "
                  f"chunks counted with {report.counted_with}")
    table = Table("#", "chapter", "words", "chunks", "minutes")
    for c in report.chapters:
        table.add_row(str(c.index), c.title, str(c.words), str(c.chunks), str(c.minutes))
    console.print(table)
    for s in report.skipped:
        console.print(f"skipped: {s.title} ({s.why})")
    if report.not_read:
        kinds: dict[str, list[int]] = {}
        for item in report.not_read:
            kinds.setdefault(item.kind, []).append(item.words)
        table = Table("not read", "items", "words", "share of the book", title="what is not read aloud")
        total = report.words + report.words_not_read
        for kind, words in sorted(kinds.items(), key=lambda kv: NOT_READ.index(kv[0])):
            table.add_row(kind, str(len(words)), str(sum(words)), f"{sum(words) / total:.1%}")
        console.print(table)
    marks = [f"{n} chunks in voice {voice}" for voice, n in report.voices.items()]
    marks += [f"{report.pauses} pauses"] if report.pauses else []
    marks += [f"{word} said as {said!r}" for word, said in report.pronunciations.items()]
    if marks:
        console.print("marks: " + "; ".join(marks))
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {w}")




def show_dataset_check(result) -> None:
    """Every flagged utterance with what was heard, then the totals."""
    table = Table("id", "flags", "heard", "WER", title=f"flagged utterances ({len(result.flagged)})")
    for recording, verdict in result.flagged:
        table.add_row(recording.id, "; ".join(verdict.flags), first_line(verdict.transcript, 60), f"{verdict.wer:.2f}")
    if result.flagged:
        err.print(table)
    passed = len(result.verdicts) - len(result.flagged)
    err.print(f"{len(result.verdicts)} utterances ({clock(result.seconds)} of audio): {passed} pass, "
              f"{len(result.flagged)} flagged; report: {result.report}", highlight=False, soft_wrap=True)


def show_status(report) -> None:
    console = Console()
    if report.running:
        console.print(f"a run is in progress (pid {report.running})")
    table = Table("book", "status", "distinct chunks done", "failed chunks", "audio", "reason",
                  title=", ".join(report.outputs))
    for b in report.books:
        table.add_row(Path(b.book).name, b.status, f"{b.chunks_done}/{b.chunks}", str(b.failed_chunks or ""),
                      clock(b.audio_seconds) if b.audio_seconds else "", first_line(b.reason))
    table.caption = f"chunk cache: {size(report.cache_bytes)}"
    console.print(table)


def show_redo(result) -> None:
    """Each redone chunk with its new key and what is still wrong with it, then what was rewritten."""
    table = Table("chunk", "previous take", "new take", "still wrong", title=f"redone in {result.folder}")
    for record in result.redone:
        table.add_row(record.id, record.previous_key[:12], record.key[:12],
                      "; ".join(result.flags[record.id]) or "nothing")
    err.print(table)
    err.print(f"{result.synthesized} chunks synthesized; chapters {', '.join(map(str, result.chapters))} written again, "
              f"with the M4B, subtitles, manifest and report.html, in {clock(result.wall_seconds)}",
              highlight=False, soft_wrap=True)
