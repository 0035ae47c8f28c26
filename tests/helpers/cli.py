"""The command line as a user or cron runs it, in a process of its own; jobs' books and files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-c", "from pocket_batch.pipeline.cli import main; main()"]
OUTPUT_SUFFIXES = (".m4b", ".mp3", ".srt", ".vtt")


def cli(*args, timeout=600, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def write_book(path: Path, sentences: int = 6) -> Path:
    words = ["river", "lantern", "morning", "harbor", "meadow", "window", "garden", "letter"]
    chapters = []
    for c in range(2):
        lines = [f"The {words[(c + i) % 8]} was quiet when number {i + 1} of chapter {c + 1} began."
                 for i in range(sentences)]
        chapters.append(f"Chapter {c + 1}\n\n" + " ".join(lines))
    path.write_text("\n\n".join(chapters) + "\n")
    return path


def write_job(folder: Path, model: Path, **fields) -> Path:
    lines = [f"{key} = {json.dumps(value)}" for key, value in
             ({"inbox": "inbox", "output": "out", "voice": "alba", "workers": 1} | fields).items()]
    lines += ["[model]", f"config = {json.dumps(str(model))}", "[postproc]", 'loudness = "podcast"',
              "[verify]", "enabled = false"]  # the random model speaks noise: every take would fail
    path = folder / "job.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def outputs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.suffix in OUTPUT_SUFFIXES and "cache" not in p.parts}


def session_pids(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                pass
    return pids


def kill_session(sid: int) -> None:
    """kill -9 a run and everything it started (its local Ray cluster shares its session)."""
    for pid in session_pids(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
