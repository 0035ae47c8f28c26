"""Exit codes, and the error the CLI turns into one clear line and a non-zero exit."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a `pocket-batch` process tells its caller (the README lists them)."""

    DONE = 0  # every input finished (or nothing was new)
    SOME_FAILED = 1  # some inputs failed, each named in one line; the others are finished
    COULD_NOT_RUN = 2  # bad input or options, voice without consent, model or cluster unreachable
    LOCKED = 3  # another run holds the output folder; this one touched nothing
    FLAGGED = 4  # every input finished, but some chunks still fail verification (each book's verify.json)
    INTERRUPTED = 130  # Ctrl-C; a rerun resumes where it stopped
    TERMINATED = 143  # SIGTERM (128 + 15); a rerun resumes where it stopped


class Terminated(BaseException):
    """SIGTERM, raised where the process stands so that locks, Ray and temp files are cleaned up on the way out."""


class PocketBatchError(Exception):
    """Bad input or an impossible request: the message names the file and what is wrong."""

    exit_code = ExitCode.COULD_NOT_RUN


class OutputLocked(PocketBatchError):
    exit_code = ExitCode.LOCKED


def os_error_line(exc: OSError) -> str:
    """An OSError as `path: reason`, the way a person reads it."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    return f"{where}: {reason}" if where else reason


def one_line(exc: BaseException) -> str:
    """An exception as `Type: last line of its message`, for logs and one-line reports."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}".strip(": ")
