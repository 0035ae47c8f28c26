"""The command line as a user types it: help, voices, one-line errors with a non-zero exit."""

from __future__ import annotations

import os
import subprocess

from helpers.cli import CLI
from helpers.cli import cli as run
from helpers.voices import write_sample



def test_help_lists_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("render", "voices", "model", "bench"):
        assert command in result.stdout


def test_voices_lists_presets_with_origin(small_model):
    result = run("voices", "--model-config", small_model)
    assert result.returncode == 0
    assert "fantine" in result.stdout and "hf://kyutai/tts-voices" in result.stdout
    assert "missing" not in result.stdout


def test_missing_input_is_one_line_error(small_model, tmp_path):
    result = run(tmp_path / "nope.txt", "--model-config", small_model, "-o", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "nope.txt: input file not found" in result.stderr
    assert not (tmp_path / "out").exists()


def test_clone_without_consent_exits_non_zero_naming_the_sample(small_model, notes, tmp_path):
    sample = write_sample(tmp_path / "me.wav", 3.0)
    result = run(notes, "--voice", sample, "--model-config", small_model, "-o", tmp_path / "out")
    assert result.returncode == 2 and "me.wav: no consent record" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_hub_names_both_ways_out(notes, tmp_path):
    # HF_HUB_OFFLINE fails at once the way a closed network fails after its retries.
    result = run(notes, "-o", tmp_path / "out", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert "--model-config" in result.stderr and "make-random" in result.stderr
    assert "Traceback" not in result.stderr


def test_5_an_unreachable_hub_is_decided_once_without_retries(notes, tmp_path):
    # A closed port stands for a closed network (no machine here reaches Hugging Face either way).
    result = run(notes, "--voice", "fantine", "-o", tmp_path / "out", env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()  # no "Retrying in 8s [Retry 4/5]" before it
    assert line.startswith("error: could not fetch the Pocket TTS model from Hugging Face") and "make-random" in line


def test_5_a_model_on_disk_never_asks_the_hub(small_model):
    from pocket_batch.core.config import ModelOptions
    from pocket_batch.synth.model.source import ModelSource, hub_reachable

    hub_reachable.cache_clear()
    source = ModelSource(ModelOptions(config=small_model))
    source.tokenizer  # noqa: B018 - loading is the point
    assert not source.fetches and hub_reachable.cache_info().misses == 0  # no connection attempt at all


def test_bench_decoder_on_a_released_model_needs_the_hub_and_says_so(tmp_path):
    result = run("bench", "decoder", "--language", "english", "--chunks", "1", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Pocket TTS weights" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_inspect_json_needs_no_model(tmp_path):
    import json

    from helpers.epubs import sample_book

    book = sample_book().write(tmp_path / "book.epub")
    result = run("inspect", book, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["title"] == "A Test Book" and report["author"] == "Ada Example"
    assert [c["title"] for c in report["chapters"]] == ["Part One", "Chapter 1", "Chapter 2", "Chapter 3", "Chapter 4"]
    assert all(c["words"] > 0 and c["chunks"] > 0 and c["minutes"] >= 0 for c in report["chapters"])
    assert {s["title"]: s["why"] for s in report["skipped"]}["Index"] == "index"


def test_a_bad_input_does_not_stop_the_others(small_model, notes, tmp_path):
    bad = tmp_path / "bad.epub"
    bad.write_bytes(b"not a zip")
    result = run(notes, bad, "--model-config", small_model, "-o", tmp_path / "out", "--workers", "0", "--no-verify")
    assert result.returncode == 1
    assert "bad.epub: not an EPUB" in result.stderr
    assert (tmp_path / "out" / "notes" / "notes.m4b").is_file()
    assert not (tmp_path / "out" / "bad").exists()


def test_local_cluster_from_the_cli_stays_on_loopback(small_model, notes, tmp_path):
    import json

    # Without the test session's own loopback setting: the CLI must set it before Ray is imported.
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS")}
    args = [notes, "--model-config", small_model, "-o", tmp_path / "out", "--workers", "2", "--no-verify"]
    result = subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    workers = {c["worker"] for c in manifest["chapters"][0]["chunks"]}
    assert len(workers) == 2 and all(w.startswith("127.0.0.1:") for w in workers), workers


def test_4_a_mistyped_command_is_named_before_anything_starts(small_model, tmp_path):
    book = tmp_path / "story.txt"
    book.write_text("A story. It is short.\n")
    result = run("inpsect", book, "--model-config", small_model, "-o", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no such command 'inpsect' (did you mean inspect?)"
    result = run(book, tmp_path / "missing.txt", "--model-config", small_model, "-o", tmp_path / "out")
    assert result.returncode == 2 and result.stderr.strip() == f"error: {tmp_path / 'missing.txt'}: input file not found"
    assert not (tmp_path / "out").exists()


def test_1_a_malformed_mark_is_one_escaped_line_naming_the_file(small_model, tmp_path):
    book = tmp_path / "[b]marks[red].txt"
    book.write_text("Chapter 1\n\nAnother [voice: marius line that never closes.\n")
    for args in (["inspect", book], [book, "--model-config", small_model, "-o", tmp_path / "out"]):
        result = run(*args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"error: {book}:3: malformed mark '[voice: marius line that never closes.': expected [pause 1.5s], "
            "[voice: NAME] ... [/voice] or [word](say: respelling)"]
    assert not (tmp_path / "out").exists()


def test_6_checks_the_random_model_cannot_pass_are_explained_once(small_model, tmp_path):
    book = tmp_path / "story.txt"
    book.write_text("A story.\n")
    result = run(book, "--model-config", small_model, "-o", tmp_path / "out", "--workers", "0")
    assert result.returncode == 4, result.stderr
    note = (f"note: {small_model} is pocket-batch's random model: its noise cannot pass the checks, so every chunk "
            "is taken 3 times and flagged; --no-verify tries the pipeline without them")
    assert " ".join(result.stderr.split()).count(note) == 1, result.stderr
    assert "report.html and manifest.json in" in " ".join(result.stderr.split())
