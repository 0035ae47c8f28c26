"""What the commands print: a run's outcome, an `inspect` report, a `status` table.

Every console prints text as it is (markup off): titles, paths, sentences and marks come from users'
files, and rich would read `[/voice]` in one as a tag. Styles are given as `Text` spans, never as
markup in a string.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pocket_batch.core.measure import clock
from pocket_batch.core.records import NOT_READ
from pocket_batch.pipeline.progress import run_table

err = Console(stderr=True, markup=False, highlight=False)
out = Console(markup=False, highlight=False)


def wide() -> Console:
    """A benchmark's console: a wide table, even in a log; text as it is, like every console here."""
    return Console(width=170, markup=False, highlight=False)


def labelled(label: str, style: str, message: str) -> Text:
    """`label` in its colour, then the message as it is."""
    return Text.assemble((label, style), " ", message)


def error(message: str) -> None:
    err.print(labelled("error:", "red", message), soft_wrap=True)


def warning(message: str, console: Console = err) -> None:
    console.print(labelled("warning:", "yellow", message), soft_wrap=True)


def say(message: str, console: Console = err) -> None:
    console.print(message, soft_wrap=True)


def first_line(text: str, width: int = 100) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "\u2026"


def show_runs(runs) -> None:
    """The outcome table, then each book's warnings, what it wrote, or its one-line error."""
    err.print(run_table(runs))
    for note in dict.fromkeys(n for run in runs for n in run.notes):
        err.print(labelled("note:", "yellow", note), soft_wrap=True)
    for run in runs:
        for book in run.books:
            for line in book.warnings:
                warning(f"{book.source.name}: {line}")
            if book.m4b:
                readalong = f", the read-along book {book.readalong.name}" if book.readalong else ""
                say(f"\u2192 {book.m4b}, with chapters/, subtitles (.srt, .vtt){readalong}, the review page "
                    f"report.html and manifest.json in {book.m4b.parent}")
            if book.flagged:
                err.print(labelled(f"{book.flagged} chunks still fail verification", "yellow",
                                   f"(kept): {book.m4b.parent / 'verify.json'} lists them with where to hear each"),
                          soft_wrap=True)
            if book.unverified:
                err.print(labelled(f"{book.unverified} chunks unverified", "yellow",
                                   "(their voice is one the recognizer cannot hear; nothing else flagged): "
                                   f"{book.m4b.parent / 'verify.json'} lists them"), soft_wrap=True)
        for book in run.failed:
            error(book.error)


def size(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def show_inspect(report) -> None:
    console = out
    console.print(labelled(report.title, "bold", f"by {report.author or 'unknown'} "
                           f"({report.language or 'language unknown'}): {report.words} words, "
                           f"{report.chunks} chunks ({report.distinct_chunks} distinct), ~{report.minutes} min of "
                           f"audio; chunks counted with {report.counted_with}"))
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
    for line in report.warnings:
        warning(line, console)




def show_dataset_check(result) -> None:
    """Every flagged utterance with what was heard and its scores, a line per speaker not heard, then the totals."""
    table = Table("id", "flags", "heard", "WER", "similarity", "SNR dB", title=f"flagged utterances ({len(result.flagged)})")
    for recording, verdict in result.flagged:
        scores = verdict.scores()
        table.add_row(recording.id, "; ".join(verdict.flags), first_line(verdict.transcript, 60),
                      f"{verdict.wer:.2f}" if verdict.words_checked else "", _number(scores.get("similarity")),
                      _number(scores.get("snr_db"), 0))
    if result.flagged:
        err.print(table)
    for note in result.notes:
        warning(note)
    passed = sum(v.status == "passed" for _, v in result.verdicts)
    unverified = f", {len(result.unverified)} unverified" if result.unverified else ""
    say(f"{len(result.verdicts)} utterances ({clock(result.seconds)} of audio): {passed} pass, "
        f"{len(result.flagged)} flagged{unverified}; report: {result.report}")
    if result.kept is not None:
        say(f"{result.kept} of {len(result.verdicts)} meet --keep; listed in {result.report.with_name('kept.csv')}")


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def show_status(report) -> None:
    console = out
    if report.running:
        console.print(f"a run is in progress (pid {report.running})")
    table = Table("book", "status", "distinct chunks done", "failed chunks", "audio", "reason",
                  title=", ".join(report.outputs))
    for b in report.books:
        table.add_row(Path(b.book).name, b.status, f"{'?' if b.chunks_done is None else b.chunks_done}/{b.chunks}", str(b.failed_chunks or ""),
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
    say(f"{result.synthesized} chunks synthesized; chapters {', '.join(map(str, result.chapters))} written again, "
        f"with the M4B, subtitles, manifest and report.html, in {clock(result.wall_seconds)}")
