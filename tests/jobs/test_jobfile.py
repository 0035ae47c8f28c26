"""Job files: every problem named at once, inputs that match nothing reported."""

from __future__ import annotations

import pytest

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.jobs.jobfile import job_inputs, load_job, unmatched
from pocket_batch.synth.model.voices import read_consent


def test_every_unknown_key_is_named(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text('output = "out"\ninputs = ["a.txt"]\nvoise = "alba"\nworkres = 2\n[postproc]\nlodness = "acx"\n')
    with pytest.raises(PocketBatchError) as refused:
        load_job(job)
    message = str(refused.value)
    assert message.startswith(f"{job}: ") and "\n" not in message
    assert all(key in message for key in ("voise", "workres", "postproc.lodness"))


def test_the_root_is_refused_as_a_jobs_output(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text('output = "/"\ninputs = ["a.txt"]\n')
    with pytest.raises(PocketBatchError, match="the filesystem root"):
        load_job(job)


def test_inputs_that_match_nothing_are_listed(tmp_path):
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "a.txt").write_text("A.")
    job = tmp_path / "job.toml"
    job.write_text('output = "out"\ninputs = ["books/*.txt", "books/*.epub", "missing.md"]\n')
    loaded = load_job(job)
    assert [p.name for p in job_inputs(loaded)] == ["a.txt", "missing.md"]
    assert [p.rsplit("/", 2)[-2:] for p in unmatched(loaded)] == [["books", "*.epub"], [str(tmp_path).rsplit("/", 1)[-1], "missing.md"]]


def test_a_consent_date_must_be_a_date(tmp_path):
    record = tmp_path / "s.consent.json"
    record.write_text('{"speaker": "A", "statement": "I consent.", "date": "not a date", "permitted_use": "x"}')
    with pytest.raises(PocketBatchError, match="consent date 'not a date' is not a date"):
        read_consent(record)
    record.write_text('{"speaker": "A", "statement": "I consent.", "date": "2026-11-25", "permitted_use": "x"}')
    assert read_consent(record)["date"] == "2026-11-25"


def test_verification_is_set_in_a_verify_table_and_reaches_each_run(tmp_path):
    from pocket_batch.jobs.jobfile import run_config

    job = tmp_path / "job.toml"
    job.write_text('output = "out"\ninputs = ["a.txt"]\n[verify]\nretries = 1\nmax_wer = 0.4\n'
                   '[postproc]\nsubtitles = "word"\n')
    config = run_config(load_job(job), "alba", [tmp_path / "a.txt"])
    assert config.verify.retries == 1 and config.verify.max_wer == 0.4 and config.verify.enabled is None
    assert config.postproc.subtitles == "word"
    job.write_text('output = "out"\ninputs = ["a.txt"]\n[verify]\nretrys = 1\n')
    with pytest.raises(PocketBatchError, match="verify.retrys"):
        load_job(job)


def test_a_read_along_book_is_asked_for_in_the_postproc_table(tmp_path):
    from pocket_batch.jobs.jobfile import run_config

    job = tmp_path / "job.toml"
    job.write_text('output = "out"\ninputs = ["a.txt"]\n[postproc]\nreadalong = "words"\n')
    assert run_config(load_job(job), "alba", [tmp_path / "a.txt"]).postproc.readalong == "words"
    job.write_text('output = "out"\ninputs = ["a.txt"]\n[postproc]\nreadalong = "pages"\n')
    with pytest.raises(PocketBatchError, match="postproc.readalong"):
        load_job(job)


def test_a_voices_table_gives_characters_their_voices(tmp_path):
    from pocket_batch.jobs.jobfile import run_config

    job = tmp_path / "job.toml"
    job.write_text('output = "out"\ninputs = ["a.txt"]\nvoice = "fantine"\n[voices]\nJavert = "javert"\n'
                   '[ingest]\ndialogue_voice = "marius"\n')
    config = run_config(load_job(job), "fantine", [tmp_path / "a.txt"])
    assert config.ingest.characters == {"Javert": "javert"} and config.ingest.dialogue_voice == "marius"
    assert config.voice == "fantine"
