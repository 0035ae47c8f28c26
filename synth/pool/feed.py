"""One worker's rows, fed by all its calls at once: no call waits for the one before it to drain.

A worker runs its BatchedGenerator in one thread of its own. Every call hands its chunks
to this feed and reads their audio back from its own outbox as each row finishes, so the
rows a call's last chunks leave free are taken by the next call's first. The model runs
in that one thread only (pocket-tts is not thread-safe), and so does whatever the worker
makes of a finished row (its output, heard by the recognizer when verifying).
"""

from __future__ import annotations

import ctypes
import queue
import threading
from collections import deque
from collections.abc import Callable

from pocket_batch.synth.fast.batched import BatchedGenerator, Request

TRIM_EVERY = 16  # finished rows between handing the heap's freed pages back to the system


def _heap_trimmer() -> Callable[[], object]:
    """glibc's malloc_trim(0). A row's audio is made here and freed in the thread that sends it: the
    pages it leaves free in the middle of a heap stay the worker's until trimmed (elsewhere: nothing)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except AttributeError:
        return lambda: None
    return lambda: trim(0)


class Feed:
    """`finish(request, audio, max_length, seconds)` makes a finished row's result, in the model's thread."""

    def __init__(self, generator: BatchedGenerator, finish: Callable[..., object]):
        self.generator = generator
        self.finish = finish
        self.inbox: deque[Request] = deque()
        self.outboxes: dict[str, queue.SimpleQueue] = {}  # chunk key -> its call's outbox
        self.changed = threading.Condition()
        self.closed = False
        self.trim_heap = _heap_trimmer()
        self.thread = threading.Thread(target=self._run, name="pocket-batch rows", daemon=True)
        self.thread.start()

    def submit(self, requests: list[Request]) -> queue.SimpleQueue:
        """Queue a call's chunks; their results (or the exception that ended them) come to the outbox."""
        outbox = queue.SimpleQueue()
        with self.changed:
            for request in requests:
                self.outboxes[request.key] = outbox
                self.inbox.append(request)
            self.changed.notify()
        return outbox

    def cancel(self, outbox: queue.SimpleQueue) -> None:
        """A call that ends early takes back its chunks not yet started; rows already running finish unread."""
        with self.changed:
            mine = {key for key, box in self.outboxes.items() if box is outbox}
            self.inbox = deque(request for request in self.inbox if request.key not in mine)
            for key in mine:
                del self.outboxes[key]

    def close(self) -> None:
        """Stop after the step running now; the thread is gone when this returns."""
        with self.changed:
            self.closed = True
            self.changed.notify()
        self.thread.join()

    def take(self, wait: bool) -> Request | None:
        """The generator's next row (runs in the model's thread); `wait` while no row is in flight."""
        with self.changed:
            while wait and not self.inbox and not self.closed:
                self.changed.wait()
            return self.inbox.popleft() if self.inbox else None

    def _deliver(self, key: str, result: object) -> None:
        with self.changed:
            outbox = self.outboxes.pop(key, None)
        if outbox is not None:
            outbox.put(result)

    def _run(self) -> None:
        while not self.closed:
            try:
                for finished, (request, *result) in enumerate(self.generator.generate(self), 1):
                    try:
                        done = self.finish(request, *result)
                    except Exception as exc:  # noqa: BLE001 - that chunk's call fails; the rows go on
                        done = exc
                    self._deliver(request.key, done)
                    if finished % TRIM_EVERY == 0:
                        self.trim_heap()
            except Exception as exc:  # noqa: BLE001 - every call with a chunk in flight or queued fails with it
                with self.changed:
                    outboxes, self.outboxes, self.inbox = set(self.outboxes.values()), {}, deque()
                for outbox in outboxes:
                    outbox.put(exc)
