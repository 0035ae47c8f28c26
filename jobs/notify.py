"""The job's optional `notify` command, run through the shell, in the job file's folder, when a job ends.

It reads the summary on stdin and finds the outcome in its environment:
POCKET_BATCH_EXIT (0 all done, 1 some failed, 2 could not run, 4 flagged, 5 unverified), POCKET_BATCH_STATUS
(done / some-failed / could-not-run / flagged / unverified), POCKET_BATCH_SUMMARY and POCKET_BATCH_LOG.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pocket_batch.core.errors import ExitCode
from pocket_batch.pipeline.runlog import log

STATUS = {ExitCode.DONE: "done", ExitCode.SOME_FAILED: "some-failed", ExitCode.COULD_NOT_RUN: "could-not-run",
          ExitCode.FLAGGED: "flagged", ExitCode.UNVERIFIED: "unverified"}
NOTIFY_TIMEOUT_SECONDS = 120


def notify(command: str | None, exit_code: ExitCode, summary: str, log_path: Path | None, cwd: Path) -> None:
    if not command:
        return
    env = os.environ | {"POCKET_BATCH_EXIT": str(int(exit_code)), "POCKET_BATCH_STATUS": STATUS[exit_code],
                        "POCKET_BATCH_SUMMARY": summary, "POCKET_BATCH_LOG": str(log_path or "")}
    try:
        done = subprocess.run(command, shell=True, input=summary, text=True, env=env, cwd=cwd, capture_output=True,
                              timeout=NOTIFY_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("notify command timed out after %d s: %s", NOTIFY_TIMEOUT_SECONDS, command)
        return
    if done.returncode:  # a broken notifier never changes the job's own outcome
        log.warning("notify command exited %d: %s", done.returncode, done.stderr.strip()[-300:])
