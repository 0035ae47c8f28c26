"""Corpus mode: CSV prompts to a training set that real loaders read, append-only, QA never silent."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import soundfile as sf

from pocket_batch.core.config import CorpusConfig, ModelOptions, QAOptions, VerifyOptions
from pocket_batch.pipeline.corpus import build_corpus
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.layout import OutputLayout
from pocket_batch.postproc.corpus.rows import wav_file

from helpers.browser import local_file, visit

PAGE = """() => ({
  voices: [...document.querySelectorAll('#voice-table tbody tr')].map(r => [...r.cells].map(c => c.textContent)),
  histogram: document.querySelectorAll('#durations svg').length,
  left_out: [...document.querySelectorAll('#flagged article.chunk')].map(a => a.id),
  players: [...document.querySelectorAll('#flagged audio')].map(a => a.src),
})"""

WORDS = "amber birch cedar delta ember fable garnet harbor island juniper kestrel lantern meadow".split()


def prompts(path, rows: range):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text"])
        for n in rows:
            writer.writerow([f"utt{n:04d}", f"{WORDS[n % 13].capitalize()} {n}."])  # short: ~3 s of audio each
    return path


@pytest.fixture
def corpus_config(small_model, tmp_path):
    def make(csv_path, **overrides) -> CorpusConfig:
        fields = {"output": tmp_path / "corpus", "voices": ("alba", "marius"), "workers": 2,
                  "model": ModelOptions(config=small_model), "sample_rate": 22_050,
                  # the random model never fires EOS: keep its takes flagged rather than regenerate them
                  "qa": QAOptions(max_length="flag"), "verify": VerifyOptions(enabled=False)} | overrides
        return CorpusConfig(csv=csv_path, **fields)

    return make


def test_200_rows_two_voices_load_with_datasets_and_ljspeech_then_append_20(corpus_config, tmp_path, ray_cluster):
    import datasets

    config = corpus_config(prompts(tmp_path / "prompts.csv", range(200)))
    first = build_corpus(config, show_progress=False)
    assert (first.kept, first.failed, first.synthesized) == (400, 0, 400)

    splits = datasets.load_dataset("audiofolder", data_dir=str(config.output / "audiofolder"))
    assert set(splits) == {"train", "validation", "test"}  # the loader's own splits, not a column
    assert sum(len(splits[s]) for s in splits) == 400 and len(splits["train"]) > len(splits["test"]) > 0
    manifest_splits = [json.loads(line)["split"] for line in open(config.output / "manifest.jsonl")]
    assert {s: len(splits[s]) for s in splits} == {s: manifest_splits.count(s) for s in splits}
    dataset = splits["train"]
    assert {"audio", "transcription", "text", "speaker"} <= set(dataset.column_names)
    audio = dataset[0]["audio"]  # decoded by datasets itself
    assert audio["sampling_rate"] == 22_050 and audio["array"].size > 22_050
    assert set(dataset["speaker"]) == {"alba", "marius"}

    lines = list(csv.reader(open(config.output / "metadata.csv", newline=""), delimiter="|", quoting=csv.QUOTE_NONE))
    assert len(lines) == 400 and all(len(line) == 3 for line in lines)
    for voice_id, _text, _normalized in lines:
        info = sf.info(config.output / "wavs" / f"{voice_id}.wav")
        assert info.samplerate == 22_050 and info.channels == 1 and info.subtype == "PCM_16"
    manifest = [json.loads(line) for line in open(config.output / "manifest.jsonl")]
    splits = {}
    for row in manifest:
        splits.setdefault(row["normalized"], set()).add(row["split"])
        assert row["qa_flags"] == ["max length reached without EOS"] and row["model"]
    assert all(len(s) == 1 for s in splits.values())  # no text in two splits
    assert {r["split"] for r in manifest} == {"train", "validation", "test"}
    card = (config.output / "README.md").read_text()
    assert "synthetic speech" in card and "400" in card
    page = visit(config.output / "report.html", PAGE)
    assert page.errors == [] and len(page.requests) == 1 and page.found["histogram"] == 1
    counts = {v: [sum(r["voice"] == v and r["split"] == s for r in manifest) for s in ("train", "validation", "test")]
              for v in ("alba", "marius")}
    assert {row[0]: [int(n) for n in row[1:4]] for row in page.found["voices"]} == counts

    written = {p: p.stat().st_mtime_ns for p in (config.output / "wavs").glob("*/*/*.wav")}
    before = (config.output / "manifest.jsonl").read_text().splitlines()
    # An append reads no earlier take: the rows published already stand on their WAVs and manifest lines.
    shutil.rmtree(OutputLayout(config.output).cache)
    config = corpus_config(prompts(tmp_path / "prompts.csv", range(220)))
    again = build_corpus(config, show_progress=False)
    assert (again.kept, again.synthesized) == (440, 40)  # exactly the 20 new rows, in both voices
    assert (config.output / "manifest.jsonl").read_text().splitlines()[:400] == before
    # Item 9: and only their 40 WAVs are written; the 400 already there are left as they are.
    now = {p: p.stat().st_mtime_ns for p in (config.output / "wavs").glob("*/*/*.wav")}
    assert len(now) == 440 and {p for p in now if written.get(p) != now[p]} == set(now) - set(written)


def test_failing_takes_are_regenerated_then_reported_and_left_out(corpus_config, tmp_path):
    config = corpus_config(prompts(tmp_path / "few.csv", range(3)), voices=("alba",), workers=0,
                           qa=QAOptions(max_length="fail", retries=1))
    result = build_corpus(config, show_progress=False)
    assert (result.kept, result.failed, result.synthesized) == (0, 3, 6)  # 3 rows, 2 takes each
    report = json.loads((config.output / "report.json").read_text())
    assert [f["id"] for f in report["failures"]] == ["utt0000", "utt0001", "utt0002"]
    assert all(len(f["attempts"]) == 2 for f in report["failures"])
    assert (config.output / "metadata.csv").read_text() == ""
    page = visit(config.output / "report.html", PAGE)
    assert page.errors == [] and page.found["left_out"] == [f"utterance-alba-utt000{n}" for n in range(3)]
    assert len(page.found["players"]) == 3 and all(local_file(src).is_file() for src in page.found["players"])
    assert not list((config.output / "wavs").glob("*/*/*.wav"))


def test_bad_rows_refused_with_row_numbers_before_synthesis(corpus_config, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,text\na,One.\na,Two.\n../x,Three.\nb,\n")
    with pytest.raises(PocketBatchError) as info:
        build_corpus(corpus_config(path), show_progress=False)
    assert "row 3: duplicate id" in str(info.value) and "row 4: id contains a path separator" in str(info.value)
    assert "row 5: empty text" in str(info.value)
    assert not (tmp_path / "corpus").exists()


def test_a_text_file_of_sentences_is_a_corpus_one_row_a_line(corpus_config, tmp_path):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("The birch canoe slid on the smooth planks.\n\nGlue the sheet to the dark blue background.\n")
    config = corpus_config(sentences, voices=("alba",), workers=0)
    build_corpus(config, show_progress=False)
    lines = list(csv.reader(open(config.output / "metadata.csv", newline=""), delimiter="|", quoting=csv.QUOTE_NONE))
    assert sorted((row[0], row[1]) for row in lines) == sorted([
        (wav_file("alba", "line-000001").removesuffix(".wav"), "The birch canoe slid on the smooth planks."),
        (wav_file("alba", "line-000003").removesuffix(".wav"), "Glue the sheet to the dark blue background.")])


def test_a_changed_lexicon_reads_again_only_the_rows_it_respells(corpus_config, tmp_path):
    """Appends reuse an earlier run's normalized texts; a lexicon (or language) that normalizes otherwise
    is a different normalizer, and the rows it changes are synthesized again."""
    config = corpus_config(prompts(tmp_path / "prompts.csv", range(26)), voices=("alba",))
    assert build_corpus(config, show_progress=False).synthesized == 26
    lexicon = tmp_path / "lexicon.tsv"
    lexicon.write_text("Amber\tAmbur\n")
    again = build_corpus(config.model_copy(update={"lexicon": lexicon}), show_progress=False)
    assert (again.kept, again.synthesized) == (26, 2)  # rows 0 and 13 say "Amber"
    rows = [json.loads(line) for line in open(config.output / "manifest.jsonl")]
    assert [r["normalized"].split()[0] for r in rows if r["id"] in ("utt0000", "utt0013")] == ["Ambur", "Ambur"]
    assert all(r["tokens"] > 0 for r in rows) and len({r["normalizer"] for r in rows}) == 1
