import signal
import subprocess
import sys

import pytest

from pocket_batch.core.errors import Terminated
from pocket_batch.pipeline import stop


@pytest.fixture
def handler(monkeypatch):
    monkeypatch.setattr(stop, "_requested", None)
    previous = signal.getsignal(signal.SIGTERM), sys.unraisablehook, signal.getsignal(signal.SIGINT)
    stop.install()
    yield
    signal.signal(signal.SIGTERM, previous[0])
    signal.signal(signal.SIGINT, previous[2])
    sys.unraisablehook = previous[1]


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


def test_a_dropped_sigterm_prints_nothing_but_other_dropped_errors_still_print():
    # A process of its own: pytest puts its own unraisable hook around every test.
    script = """
import signal
from pocket_batch.core.errors import Terminated
from pocket_batch.pipeline import stop

class Finalized:
    def __del__(self):
        signal.raise_signal(signal.SIGTERM)

class Broken:
    def __del__(self):
        raise ValueError("a finalizer's own error")

stop.install()
Finalized()
Broken()
try:
    stop.check()
except Terminated:
    print("stopped")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "stopped\n", done.stderr
    assert "Terminated" not in done.stderr
    assert "Exception ignored in" in done.stderr and "ValueError: a finalizer's own error" in done.stderr
