"""Exit codes, and the error the CLI turns into one clear line and a non-zero exit."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a `pocket-batch` process tells its caller (docs/reference/exit-codes.md lists them)."""

    DONE = 0
    SOME_FAILED = 1
    COULD_NOT_RUN = 2
    LOCKED = 3
    FLAGGED = 4
    UNVERIFIED = 5
    INTERRUPTED = 130
    TERMINATED = 143


EXIT_MEANINGS = {
    ExitCode.DONE: "every input finished (or nothing was new)",
    ExitCode.SOME_FAILED: "some inputs failed, each named in one line; the others are finished",
    ExitCode.COULD_NOT_RUN: "nothing could run: bad input or options, a voice without consent, an unreachable model "
                            "or cluster, a full disk or a read-only folder (one line names the file and the reason)",
    ExitCode.LOCKED: "another run holds the output folder; this one touched nothing",
    ExitCode.FLAGGED: "every input finished, but some chunks still fail verification (listed in each book's verify.json)",
    ExitCode.UNVERIFIED: "every input finished and nothing is flagged, but the words of some chunks could not be verified: "
                         "the recognizer cannot hear their voice (one line names it; verify.json lists them)",
    ExitCode.INTERRUPTED: "Ctrl-C; rerunning the same command resumes where it stopped",
    ExitCode.TERMINATED: "SIGTERM (128 + 15); rerunning the same command resumes where it stopped",
}


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
