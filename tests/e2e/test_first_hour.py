"""A new user's first hour: short usage errors, refused inputs, honest warnings, a rerun in seconds, status,
corpora, the cache. The CLI in its own process, the small random model (noise, not speech)."""

from __future__ import annotations

import json
import os
import time

import pytest

from helpers.epubs import sample_book
from helpers.cli import cli as run
from helpers.cli import cli, write_book, write_job


@pytest.mark.parametrize("args, code, says", [
    ([], 2, "Usage:"),
    (["--voise", "alba", "book.txt"], 2, "No such option: --voise"),
    (["inspect"], 2, "Missing argument"),
])
def test_usage_errors_are_short_and_exit_2(args, code, says):
    result = run(*args)
    assert result.returncode == code, result.stderr
    assert says in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_version_names_the_packages():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("pocket-batch ")
    assert "pocket-tts 4.0.1" in result.stdout and "torch " in result.stdout


def test_a_negative_worker_count_is_refused_before_anything_starts(small_model, notes, tmp_path):
    result = run(notes, "--workers", "-1", "--model-config", small_model, "-o", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: workers: Input should be greater than or equal to 0"
    assert not (tmp_path / "out").exists()


def test_an_unsupported_file_type_is_refused_by_name(small_model, tmp_path):
    sheet = tmp_path / "sales.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    for args in (["inspect", sheet], [sheet, "--model-config", small_model, "-o", tmp_path / "out"]):
        result = run(*args)
        assert result.returncode == 2
        assert f"{sheet}: .xlsx is not a book pocket-batch reads (it reads .epub, .md, .markdown, .txt, .pdf, .docx, .mobi" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_language_num2words_lacks_keeps_digits_and_a_foreign_book_is_warned(tmp_path):
    sanskrit = sample_book(language="sa").write(tmp_path / "sa.epub")
    report = json.loads(run("inspect", sanskrit, "--json").stdout)
    assert "numbers stay as digits: num2words cannot say them in 'sa'" in report["warnings"]
    assert "the book is in 'sa' but the english model speaks 'en'; choose --language" in report["warnings"]
    arabic = sample_book(language="ar").write(tmp_path / "ar.epub")
    result = run("inspect", arabic)
    assert result.returncode == 0 and "the book is in 'ar' but the english model speaks 'en'" in result.stdout


def test_inspect_with_the_models_tokenizer_counts_the_chunks_the_run_makes(small_model, tmp_path):
    book = sample_book().write(tmp_path / "book.epub")
    estimated = json.loads(run("inspect", book, "--json").stdout)
    exact = json.loads(run("inspect", book, "--json", "--model-config", small_model).stdout)
    assert estimated["counted_with"].startswith("an estimate") and exact["counted_with"] == "the model's tokenizer"
    result = run(book, "--model-config", small_model, "-o", tmp_path / "out", "--workers", "0", "--no-verify")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert exact["chunks"] == sum(len(c["chunks"]) for c in manifest["chapters"]) == manifest["outputs"]["chunks"]
    assert exact["distinct_chunks"] == len({k["normalized"] for c in manifest["chapters"] for k in c["chunks"]})
    assert exact["distinct_chunks"] == manifest["outputs"]["distinct_chunks"]
    assert f"{exact['chunks']} chunks ({exact['distinct_chunks']} distinct)" in result.stderr  # as the run shows it


def test_a_finished_book_reruns_without_reading_synthesizing_or_encoding(small_model, notes, tmp_path):
    args = [notes, "--model-config", small_model, "-o", tmp_path / "out", "--workers", "0", "--no-verify"]
    assert run(*args).returncode == 0
    m4b = tmp_path / "out" / "notes.m4b"
    written = m4b.stat().st_mtime_ns
    started = time.perf_counter()
    again = run(*args)
    print(f"rerun of a finished book: {time.perf_counter() - started:.1f} s")  # shown with -s; not asserted
    assert again.returncode == 0 and "already finished" in again.stderr
    assert m4b.stat().st_mtime_ns == written  # not encoded again
    assert not list((tmp_path / "out" / "logs").glob("*"))[1:]  # no second run log: nothing was run
    m4b.unlink()
    assert run(*args).returncode == 0 and m4b.is_file()  # a missing output is made again


def test_a_job_whose_model_cannot_be_fetched_stops_at_once_in_one_line(tmp_path):
    (tmp_path / "inbox").mkdir()
    for n in range(3):
        write_book(tmp_path / "inbox" / f"book{n}.txt")
    job = tmp_path / "job.toml"
    job.write_text('inbox = "inbox"\noutput = "out"\nvoice = "alba"\nworkers = 0\n')
    started = time.perf_counter()
    result = cli("run", job, env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "Hugging Face" in errors[0] and "--model-config" in errors[0]
    assert time.perf_counter() - started < 60


def test_status_shows_a_book_whose_job_settings_changed(small_model, tmp_path):
    (tmp_path / "inbox").mkdir()
    write_book(tmp_path / "inbox" / "book.txt", sentences=2)
    job = write_job(tmp_path, small_model, workers=0)
    assert cli("run", job).returncode == 0
    before = json.loads(cli("status", job, "--json").stdout)
    job.write_text(job.read_text() + "[generation]\nseed = 7\n")
    after = json.loads(cli("status", job, "--json").stdout)
    assert [b["status"] for b in before["books"]] == ["done"]
    assert [b["status"] for b in after["books"]] == ["changed (will render)"]
    assert after["cache_bytes"] > 0


def test_cache_prune_removes_only_what_no_manifest_names(small_model, notes, tmp_path):
    out = tmp_path / "out"
    base = [notes, "--model-config", small_model, "-o", out, "--workers", "0", "--no-verify"]
    assert run(*base).returncode == 0
    assert run(*base, "--seed", "9").returncode == 0  # the same book again: its first takes are orphans now
    manifest = json.loads((out / "manifest.json").read_text())
    named = {c["key"] for ch in manifest["chapters"] for c in ch["chunks"]}
    result = run("cache", out, "--prune")
    assert result.returncode == 0, result.stderr
    assert f"removed {len(named)} entries" in result.stdout  # the result is output, not a message
    assert {p.stem for p in (out / "cache").glob("*/*.wav")} == named
    again = run(*base, "--seed", "9")
    assert again.returncode == 0 and "already finished" in again.stderr


def test_a_corpus_that_leaves_utterances_out_exits_1_and_says_why(small_model, tmp_path):
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("id,text\nu1,The river was quiet.\nu2,The lantern shone.\n")
    result = run("corpus", prompts, "--model-config", small_model, "-o", tmp_path / "corpus", "--workers", "0",
                 "--retries", "0", "--no-verify")
    assert result.returncode == 1
    assert "never fires EOS" in result.stderr and "--max-length flag" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("2 of 2 utterances left out")
    flagged = run("corpus", prompts, "--model-config", small_model, "-o", tmp_path / "corpus", "--workers", "0",
                  "--max-length", "flag", "--no-verify")
    assert flagged.returncode == 0, flagged.stderr


def test_inspect_uses_the_released_models_tokenizer_when_hugging_faces_cache_has_it(tmp_path):
    """Nothing is fetched: the tokenizer file is looked up where huggingface_hub keeps it (a stand-in
    trained here, at the path and revision of the english config's tokenizer)."""
    from pydoc_data.topics import topics
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    snapshot = (tmp_path / "hf" / "models--kyutai--pocket-tts-without-voice-cloning" / "snapshots"
                / "00eac05ed3d16bdc3f6b5d598874019c34a89214" / "languages" / "english")
    snapshot.mkdir(parents=True)
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.train_from_iterator([topics[k] for k in sorted(topics)], trainers.UnigramTrainer(vocab_size=4000))
    tokenizer.save(str(snapshot / "tokenizer.json"))
    book = sample_book().write(tmp_path / "book.epub")
    offline = {"HF_HUB_OFFLINE": "1"}
    cached = json.loads(run("inspect", book, "--json", env=offline | {"HF_HUB_CACHE": str(tmp_path / "hf")}).stdout)
    empty = json.loads(run("inspect", book, "--json", env=offline | {"HF_HUB_CACHE": str(tmp_path / "none")}).stdout)
    assert cached["counted_with"] == "the model's tokenizer"
    assert empty["counted_with"] == "an estimate (1.35 tokens a word)"


def test_inspect_without_a_tokenizer_on_disk_does_not_load_pocket_tts(tmp_path):
    """Nothing to count with: the estimate needs no model code, and `inspect` answers in about a second."""
    import subprocess
    import sys

    book = tmp_path / "book.txt"
    book.write_text("A first sentence. And a second one.\n")
    code = ("import sys; from pathlib import Path; from pocket_batch.pipeline.inspect import inspect_book; "
            f"r = inspect_book(Path({str(book)!r})); print(r.counted_with.split()[:2], 'pocket_tts' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert result.stdout.strip() == "['an', 'estimate'] False", result.stderr
