"""A log file per run in the output folder: what was planned, each book's outcome, each failure."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from pocket_batch.core.layout import OutputLayout
from pocket_batch.pipeline import stop

log = logging.getLogger("pocket_batch")


@contextlib.contextmanager
def run_log(output: Path) -> Iterator[Path]:
    """Everything logged under `pocket_batch` during the run goes to OUT/logs/run-<UTC time>.log."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = OutputLayout(output).logs / f"run-{stamp}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    previous = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield path
    except BaseException as exc:
        if asked := stop.requested():  # whatever exception carried it out (Ray's SystemError, say)
            log.warning("run stopped by %s; the same command resumes it", asked)
        else:
            log.error("run stopped: %s: %s", type(exc).__name__, exc)
        raise
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)
        handler.close()
