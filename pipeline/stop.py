"""SIGTERM and Ctrl-C stop a run where it stands; locks, Ray and temp files are cleaned up on the way out.

The handlers raise Terminated (or KeyboardInterrupt) in the main thread. Python drops an exception
raised while it runs a finalizer or the import code of some extension modules (it prints "Exception
ignored in ..." and goes on), and Ray's compiled wait turns one into its own SystemError ("returned
a result with an exception set"): the stop would be lost or misnamed. So the request is also kept;
the run checks it after every chunk, before every book's encoding and once more before it exits,
and any exception that ends a run after a stop was asked for is that stop.
"""

from __future__ import annotations

import signal
import sys

from pocket_batch.core.errors import Terminated

_requested: type[BaseException] | None = None  # the stop asked for: Terminated or KeyboardInterrupt


def install() -> None:
    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)
    sys.unraisablehook = _unraisable


def check() -> None:
    """Raise the stop that was asked for, whether or not its own exception got through."""
    if _requested is not None:
        raise _requested()


def requested() -> str | None:
    """The stop asked for, as a person names it ("SIGTERM", "Ctrl-C"); None if none was."""
    return None if _requested is None else "SIGTERM" if _requested is Terminated else "Ctrl-C"


def _handle(signum, frame) -> None:
    global _requested
    _requested = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
    raise _requested()


def _unraisable(info) -> None:
    if not isinstance(info.exc_value, (Terminated, KeyboardInterrupt)):
        sys.__unraisablehook__(info)
