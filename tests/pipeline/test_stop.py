import signal
import sys

import pytest

from pocket_batch.core.errors import Terminated
from pocket_batch.pipeline import stop


@pytest.fixture
def handler(monkeypatch):
    monkeypatch.setattr(stop, "_requested", False)
    previous = signal.getsignal(signal.SIGTERM)
    stop.install()
    yield
    signal.signal(signal.SIGTERM, previous)


class _Finalized:
    def __del__(self):
        signal.raise_signal(signal.SIGTERM)  # the handler runs here, and Python drops what it raises


def test_a_sigterm_raises_where_the_process_stands(handler):
    with pytest.raises(Terminated):
        signal.raise_signal(signal.SIGTERM)


def test_a_sigterm_whose_exception_python_dropped_still_stops_the_run(handler, monkeypatch):
    dropped = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: dropped.append(info.exc_type))
    stop.check()  # nothing asked yet
    _Finalized()
    assert dropped == [Terminated]  # the handler's own exception was lost
    with pytest.raises(Terminated):
        stop.check()
