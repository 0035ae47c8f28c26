"""SIGTERM stops a run where it stands; locks, Ray and temp files are cleaned up on the way out.

The handler raises Terminated in the main thread. Python drops an exception raised while it runs
a finalizer or the import code of some extension modules (it prints "Exception ignored in ..."
and goes on): the SIGTERM would be lost, and the run would go on to the end. So the request is
also kept, and the run checks it after every chunk, before every book's encoding and once more
before it exits; the dropped Terminated is not printed, as the run still stops in one line.
"""

from __future__ import annotations

import signal
import sys

from pocket_batch.core.errors import Terminated

_requested = False


def install() -> None:
    signal.signal(signal.SIGTERM, _handle)
    sys.unraisablehook = _unraisable


def check() -> None:
    """Raise Terminated if a SIGTERM came, whether or not its own exception got through."""
    if _requested:
        raise Terminated()


def _handle(signum, frame) -> None:
    global _requested
    _requested = True
    raise Terminated()


def _unraisable(info) -> None:
    if not isinstance(info.exc_value, Terminated):
        sys.__unraisablehook__(info)
