"""Failures that used to lose whole runs: a broken cache, missing outputs, a full or read-only disk, SIGTERM.

The real stack on the small random model (noise, not speech): ffmpeg, pocket-tts's model code, Ray where
workers are asked for, the CLI in its own process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pocket_batch.core.config import PostprocOptions
from pocket_batch.pipeline.lock import lock_holder
from pocket_batch.pipeline.run import render

from helpers.cli import CLI, cli, kill_session, outputs, write_book, write_job


def test_a_damaged_cache_is_repaired_and_the_outputs_come_out_the_same(notes, make_config):
    config = make_config([notes])
    first = render(config, show_progress=False)
    reference = {name: data for name, data in outputs(config.output).items() if not name.startswith("chapters")}
    wavs = sorted((config.output / "cache").glob("*/*.wav"))
    truncated, flipped = wavs[0], wavs[1]
    truncated.write_bytes(truncated.read_bytes()[:1000])
    data = bytearray(flipped.read_bytes())
    data[-4000:-3996] = b"\xff\xff\xc0\x7f"  # a NaN, same size
    flipped.write_bytes(data)

    # Chapter files as FLAC: the book renders again from the same chunks, so the cache is read.
    again = render(config.model_copy(update={"postproc": PostprocOptions(format="flac")}), show_progress=False)
    assert first.synthesized >= 4 and again.synthesized == 2
    assert {name: data for name, data in outputs(config.output).items() if not name.startswith("chapters")} == reference
    log = again.log.read_text()
    assert log.count("does not match its recorded SHA-256; removed, it will be synthesized again") == 2
    assert render(config, show_progress=False).synthesized == 0


def test_text_that_normalizes_to_nothing_does_not_fail_the_run(make_config, tmp_path):
    book = tmp_path / "breaks.txt"
    book.write_text("The first scene ends here.\n\n___\n\n[]\n\nThe second scene begins. Hmm.\n")
    lexicon = tmp_path / "lex.tsv"
    lexicon.write_text("Hmm.\t\n")
    from pocket_batch.core.config import IngestOptions

    config = make_config([book], ingest=IngestOptions(lexicon=lexicon))
    result = render(config, show_progress=False)
    assert not result.failed
    manifest = json.loads((config.output / "manifest.json").read_text())
    assert [c["text"] for c in manifest["chapters"][0]["chunks"]] == ["The first scene ends here.",
                                                                    "The second scene begins. Hmm."]
    assert [(n["kind"], n["detail"]) for n in manifest["book"]["not_read"]] == [("nothing to speak", "___"),
                                                                              ("nothing to speak", "[]")]


def test_a_job_restores_outputs_deleted_after_it_finished(small_model, tmp_path):
    (tmp_path / "inbox").mkdir()
    write_book(tmp_path / "inbox" / "book.txt")
    job = write_job(tmp_path, small_model, workers=0)
    assert cli("run", job).returncode == 0
    done = outputs(tmp_path / "out")
    book = tmp_path / "out" / "book"
    (book / "book.m4b").unlink()
    next(book.glob("chapters/*.mp3")).unlink()
    result = cli("run", job)
    assert result.returncode == 0, result.stderr
    assert "already finished: 0" in result.stderr
    assert outputs(tmp_path / "out") == done


def mount_tmpfs(folder: Path, options: str) -> None:
    folder.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {exc}")


@pytest.mark.parametrize("options, reason", [("size=200k", "No space left on device"),
                                             ("ro,size=1m", "Read-only file system")])
def test_a_full_or_read_only_disk_ends_in_one_line(small_model, notes, tmp_path, options, reason):
    out = tmp_path / "out"
    mount_tmpfs(out, options)
    try:
        result = cli(notes, "--voice", "alba", "--model-config", small_model, "--workers", "0", "-o", out)
    finally:
        subprocess.run(["umount", str(out)], check=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1 and errors[0].endswith(reason) and str(out) in errors[0], result.stderr
    assert result.stderr.rstrip().endswith(reason) and "Traceback" not in result.stderr


@pytest.mark.parametrize("how, code, name", [("SIGTERM", 143, "SIGTERM"), ("Ctrl-C", 130, "Ctrl-C")])
def test_3_a_stop_during_ray_synthesis_is_one_line_and_a_rerun_resumes(small_model, tmp_path, how, code, name):
    (tmp_path / "inbox").mkdir()
    write_book(tmp_path / "inbox" / "book.txt", sentences=20)
    job = write_job(tmp_path, small_model, workers=2)
    run = subprocess.Popen([*CLI, "run", str(job)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    out = tmp_path / "out"
    deadline = time.monotonic() + 300
    while not list((out / "cache").glob("*/*.wav")):  # synthesis under way: the driver waits inside Ray
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be stopped"
        time.sleep(0.1)
    if how == "SIGTERM":
        os.kill(run.pid, signal.SIGTERM)
    else:
        os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    try:
        stderr = run.communicate(timeout=120)[1]
    finally:
        kill_session(run.pid)  # whatever Ray left behind, should the test fail
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert run.returncode == code, stderr
    assert lines[-1] == f"error: stopped by {name}; run the same command again to resume where it stopped"
    assert "Traceback" not in stderr and "SystemError" not in stderr and name not in "".join(lines[:-1]), stderr
    assert "run stopped by" in next(out.glob("logs/*.log")).read_text() and lock_holder(out) is None
    assert not list(out.glob("book/*.m4b"))  # nothing half-written
    assert cli("run", job).returncode == 0
    assert (out / "book" / "manifest.json").is_file()
