"""Jobs as cron runs them: `pocket-batch run job.toml` in its own process, killed, rerun, locked out.

The model is the small random one (noise, not speech); Ray clusters are local and
started by the command under test, on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.cli import CLI, cli, kill_session, outputs, session_pids, write_book, write_job
from pocket_batch.pipeline.lock import output_lock

def proc_title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return ""


def cached_chunks(out: Path) -> int:
    return len(list((out / "cache").glob("*/*.json"))) if (out / "cache").is_dir() else 0


@pytest.fixture(scope="module")
def reference(small_model, tmp_path_factory) -> dict[str, bytes]:
    """An uninterrupted run of the job's book: what every interrupted run must end up with, byte for byte."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "inbox").mkdir()
    write_book(folder / "inbox" / "book.txt")
    result = cli("run", write_job(folder, small_model, workers=0))
    assert result.returncode == 0, result.stderr
    return outputs(folder / "out")


@pytest.fixture
def job(small_model, tmp_path):
    (tmp_path / "inbox").mkdir()
    write_book(tmp_path / "inbox" / "book.txt")
    return lambda **fields: write_job(tmp_path, small_model, **fields)


def test_inbox_with_one_bad_and_two_good_books(small_model, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_book(inbox / "one.txt", 2)
    (inbox / "two.md").write_text("# Two\n\nA short book. It has two sentences.\n")
    (inbox / "bad.epub").write_bytes(b"not a zip")
    (inbox / "notes.xlsx").write_bytes(b"PK")  # not a book format: never picked up
    # In-process synthesis: the inbox's bookkeeping is under test here; the Ray runs are the tests below.
    job = write_job(tmp_path, small_model, workers=0,
                    notify="cat > notified.txt; echo $POCKET_BATCH_STATUS >> notified.txt")
    result = cli("run", job)
    assert result.returncode == 1, result.stderr
    assert "bad.epub: not an EPUB" in result.stderr
    out = tmp_path / "out"
    assert (out / "one" / "one.m4b").is_file() and (out / "two" / "two.m4b").is_file()
    assert not (out / "bad").exists() and not (out / "notes").exists()
    notified = (tmp_path / "notified.txt").read_text()
    assert notified.startswith("2 rendered, 1 failed") and notified.strip().endswith("some-failed")
    [log] = (out / "logs").glob("run-*.log")
    text = log.read_text()
    assert "done one.txt" in text and "done two.md" in text and "failed" in text and "bad.epub" in text

    status = json.loads(cli("status", job, "--json").stdout)
    by_name = {Path(b["book"]).name: b for b in status["books"]}
    assert {n: b["status"] for n, b in by_name.items()} == {"one.txt": "done", "two.md": "done", "bad.epub": "failed"}
    assert by_name["one.txt"]["chunks_done"] == by_name["one.txt"]["chunks"] > 0
    assert status["running"] is None

    (inbox / "one.md").write_text("# One\n\nThe same name as one.txt.\n")  # would overwrite out/one
    (inbox / "three.txt").write_text("A new arrival. It came in the night.\n")  # tomorrow's cron run
    again = cli("run", job)
    assert again.returncode == 1 and "already finished: 2" in again.stderr
    assert "one.md: would write to the same folder as" in again.stderr
    assert (out / "three" / "three.m4b").is_file()
    assert json.loads((out / "one" / "manifest.json").read_text())["book"]["source"].endswith("one.txt")
    assert len(list((out / "logs").glob("run-*.log"))) == 2


def test_13_an_inbox_link_to_a_file_outside_is_refused_by_name(small_model, tmp_path):
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "id_rsa").write_text("SECRETKEYMATERIAL line one. SECRETKEYMATERIAL line two.\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "key.txt").symlink_to(tmp_path / "secret" / "id_rsa")
    (inbox / "one.txt").write_text("A short book. It has two sentences.\n")
    result = cli("run", write_job(tmp_path, small_model, workers=0))
    assert result.returncode == 1, result.stderr
    assert f"{inbox / 'key.txt'}: a link to a file outside the inbox" in result.stderr
    out = tmp_path / "out"
    assert (out / "one" / "one.m4b").is_file() and not (out / "key").exists()
    assert not [p for p in out.rglob("*") if p.is_file() and b"SECRETKEYMATERIAL" in p.read_bytes()]


def test_status_of_a_new_job_shows_pending_inputs_without_a_model(job):
    result = cli("status", job(), "--json", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    [book] = json.loads(result.stdout)["books"]
    assert Path(book["book"]).name == "book.txt" and book["status"] == "new"


def test_a_concurrent_run_is_refused(job, tmp_path):
    path = job()
    with output_lock(tmp_path / "out"):
        result = cli("run", path)
    assert result.returncode == 3
    assert f"pid {os.getpid()}" in result.stderr and "another pocket-batch run" in result.stderr
    assert not (tmp_path / "out" / "logs").exists() and not (tmp_path / "out" / "cache").exists()


def test_a_lock_left_by_a_killed_run_does_not_block(job, tmp_path, reference):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from pocket_batch.pipeline.lock import output_lock\n"
        f"with output_lock(Path({str(tmp_path / 'out')!r})):\n    print('locked', flush=True); time.sleep(600)")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    assert json.loads(cli("status", tmp_path / "out", "--json").stdout)["running"] == holder.pid
    holder.kill()
    holder.wait()
    assert json.loads(cli("status", tmp_path / "out", "--json").stdout)["running"] is None
    assert (tmp_path / "out" / ".pocket-batch" / "lock").read_text().strip() == str(holder.pid)
    result = cli("run", job(workers=0))
    assert result.returncode == 0, result.stderr
    assert outputs(tmp_path / "out") == reference


def test_kill_9_of_the_driver_mid_run_then_rerun_is_byte_identical(job, tmp_path, reference):
    path = job(workers=1)
    run = subprocess.Popen([*CLI, "run", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    out = tmp_path / "out"
    deadline = time.monotonic() + 300
    while cached_chunks(out) < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be killed mid-way"
    kill_session(run.pid)
    run.wait()
    assert not (out / "book" / "manifest.json").exists()
    total_before = cached_chunks(out)

    result = cli("run", path)
    assert result.returncode == 0, result.stderr
    assert outputs(out) == reference
    assert not list(out.rglob("*.pocket-batch-partial"))
    log = sorted((out / "logs").glob("run-*.log"))[-1].read_text()
    synthesized = int(log.split(" to synthesize")[0].rsplit(", ", 1)[1])
    assert synthesized == cached_chunks(out) - total_before  # finished chunks were reused, none twice


def test_a_worker_killed_mid_chunk_is_replaced_and_the_run_completes(job, tmp_path, reference):
    path = job(workers=2)
    run = subprocess.Popen([*CLI, "run", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and run.poll() is None and time.monotonic() < deadline:
        # A worker streams each chunk back as it finishes, so one chunk in the cache no longer means the
        # other worker still has some to make: kill one as soon as it is seen synthesizing, chunks still to come.
        busy = [pid for pid in session_pids(run.pid) if proc_title(pid).startswith("ray::_Actor.synthesize")]
        if busy:
            os.kill(busy[0], signal.SIGKILL)
            killed = busy[0]
        time.sleep(0.02)
    try:
        _, stderr = run.communicate(timeout=600)
    finally:
        kill_session(run.pid)
    assert killed, "no worker was caught synthesizing"
    assert run.returncode == 0, stderr
    assert outputs(tmp_path / "out") == reference
    log = sorted((tmp_path / "out" / "logs").glob("run-*.log"))[-1].read_text()
    assert "1 workers replaced" in log


def test_a_chunk_past_its_timeout_is_cut_retried_then_recorded(job, tmp_path):
    path = job(workers=1, chunk_timeout=0.01, chunk_retries=1)
    write_book(tmp_path / "inbox" / "book.txt", 1)  # 4 chunks, 2 of them headings: each attempt costs a worker restart
    result = cli("run", path)
    assert result.returncode == 1
    assert "chunks failed on every retry" in result.stderr and "no result within 0.01 s per chunk" in result.stderr
    status = json.loads(cli("status", tmp_path / "out", "--json").stdout)
    [book] = status["books"]
    assert book["status"] == "failed" and book["failed_chunks"] == book["chunks"] > 0
    assert not (tmp_path / "out" / "book").exists()


def test_bad_job_files_are_one_line_errors(small_model, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("output = \n")
    result = cli("run", bad)
    assert result.returncode == 2 and "bad.toml: not a valid TOML job file" in result.stderr
    unknown = write_job(tmp_path, small_model, colour="blue")
    result = cli("run", unknown)
    assert result.returncode == 2 and "job.toml: colour: Extra inputs are not permitted" in result.stderr
    (tmp_path / "job.toml").write_text('output = "out"\nvoice = "alba"\n')
    result = cli("run", tmp_path / "job.toml")
    assert result.returncode == 2 and "no inputs" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_late_result_never_replaces_a_committed_chunk(tmp_path):
    import numpy as np

    from pocket_batch.synth.model.cache import AudioCache

    cache = AudioCache(tmp_path / "cache")
    first = np.full(2400, 0.25, dtype=np.float32)
    cache.put("ab" * 16, first, 24_000, max_length=False, worker="a:1", wall_seconds=1.0)
    late = cache.put("ab" * 16, np.zeros(4800, dtype=np.float32), 24_000, max_length=True, worker="b:2",
                     wall_seconds=9.0)
    assert late.worker == "a:1" and late.samples == 2400
    assert np.array_equal(cache.read("ab" * 16), first)
    assert not list((tmp_path / "cache").rglob("*.pocket-batch-partial"))
