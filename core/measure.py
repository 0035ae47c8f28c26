"""Small shared measures: a wall-clock figure for people, a process's peak memory."""

from __future__ import annotations

import resource


def clock(seconds: float) -> str:
    """H:MM:SS."""
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
