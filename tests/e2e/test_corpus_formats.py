"""Corpus formats: the same prompts published in every layout, each read back by its own reader; a voice pool;
splits by speaker; appending rows rewrites only the shards it must."""

from __future__ import annotations

import csv
import glob
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pocket_batch.core.config import CORPUS_FORMATS, CorpusConfig, ModelOptions, QAOptions, VerifyOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.pipeline.corpus import build_corpus

WORDS = "amber birch cedar delta ember fable garnet harbor island juniper kestrel lantern meadow".split()


def prompts(path: Path, rows: range) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text"])
        for n in rows:
            writer.writerow([f"utt.{n:04d}", f"{WORDS[n % 13].capitalize()} and {WORDS[(n * 7) % 13]} {n}."])
    return path


@pytest.fixture
def corpus_config(small_model, tmp_path):
    def make(csv_path, **overrides) -> CorpusConfig:
        fields = {"output": tmp_path / "corpus", "voices": ("alba", "marius"), "voice_pool": True, "workers": 0,
                  "model": ModelOptions(config=small_model), "formats": CORPUS_FORMATS, "shard_size": "64",
                  "qa": QAOptions(max_length="flag"), "verify": VerifyOptions(enabled=False)} | overrides
        return CorpusConfig(csv=csv_path, **fields)

    return make


def manifest(folder: Path) -> list[dict]:
    return [json.loads(line) for line in open(folder / "manifest.jsonl", encoding="utf-8")]


def test_200_prompts_in_every_format_each_read_by_its_reader_then_10_appended(corpus_config, tmp_path):
    import datasets
    import lhotse
    import webdataset

    config = corpus_config(prompts(tmp_path / "prompts.csv", range(200)))
    result = build_corpus(config, show_progress=False)
    out = config.output
    rows = manifest(out)
    assert (result.kept, result.failed, len(rows)) == (200, 0, 200)
    assert result.voices == {"alba": 100, "marius": 100}  # one voice a row, dealt evenly
    by_split = Counter(r["split"] for r in rows)
    assert set(by_split) == {"train", "validation", "test"}
    by_id = {f"{r['voice']}/{r['id']}": r for r in rows}

    # webdataset: tar shards of at most 64 samples, each the WAV and its JSON under one key
    seen = Counter()
    for split in by_split:
        shards = sorted(glob.glob(str(out / "webdataset" / split / "*.tar")))
        assert len(shards) == -(-by_split[split] // 64)
        for sample in webdataset.WebDataset(shards, shardshuffle=False).decode():
            meta = sample["json"]
            row = by_id[f"{meta['speaker']}/{meta['id']}"]
            assert meta["split"] == split == row["split"] and meta["text"] == row["text"]
            assert sample["wav"] == (out / "wavs" / row["file_name"]).read_bytes()  # bytes: no torchaudio here
            audio, rate = sf.read(io.BytesIO(sample["wav"]))
            assert rate == 24_000 and audio.size == row["samples"]
            seen[split] += 1
    assert seen == by_split

    # parquet: datasets reads the splits from the folders and the audio as an Audio feature
    loaded = datasets.load_dataset("parquet", data_dir=str(out / "parquet"))
    assert {s: len(loaded[s]) for s in loaded} == dict(by_split)
    first = loaded["train"][0]
    assert isinstance(loaded["train"].features["audio"], datasets.Audio)
    assert first["audio"]["sampling_rate"] == 24_000 and first["audio"]["array"].size == by_id[
        f"{first['speaker']}/{first['id']}"]["samples"]
    assert {"wer", "similarity", "pace", "snr_db", "duration", "seed", "model", "status", "split"} <= set(
        loaded["train"].column_names)

    # lhotse: recordings and supervisions per split, audio through lhotse's own loader
    for split in by_split:
        recordings = lhotse.load_manifest(out / "lhotse" / f"recordings_{split}.jsonl.gz").with_path_prefix(str(out))
        supervisions = lhotse.load_manifest(out / "lhotse" / f"supervisions_{split}.jsonl.gz")
        cuts = lhotse.CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
        assert len(cuts) == by_split[split]
        cut = next(iter(cuts))
        row = by_id[cut.supervisions[0].id]
        assert cut.supervisions[0].text == row["normalized"] and cut.supervisions[0].speaker == row["voice"]
        assert cut.supervisions[0].custom["split"] == split and "wer" in cut.supervisions[0].custom
        assert cut.load_audio().shape == (1, row["samples"])

    # pocket-tts: the fields training/dataloader/loader.py DataLoader.get_entry reads, one file per split
    names = {"train": "train.jsonl", "validation": "valid.jsonl", "test": "test.jsonl"}
    for variant in ("pocket-tts", "pocket-tts-voices"):
        for split, name in names.items():
            lines = [json.loads(line) for line in open(out / variant / name)]
            assert len(lines) == by_split[split]
            for entry in lines:
                path = Path(entry["path"])
                assert path.is_absolute() and sf.info(path).duration == pytest.approx(entry["duration"], abs=1e-3)
                assert isinstance(entry["duration"], float) and isinstance(entry["transcript"], str)
                row = by_id[f"{entry['speaker']}/{entry['id']}"]
                assert entry["transcript"] == row["normalized"] and entry["split"] == split
                assert ("voice" in entry) == (variant == "pocket-tts-voices")
    assert json.loads((out / "pocket-tts-voices" / "voices.json").read_text()) == ["alba", "marius"]

    # LJSpeech and audiofolder, as before
    lines = list(csv.reader(open(out / "metadata.csv", newline=""), delimiter="|", quoting=csv.QUOTE_NONE))
    assert len(lines) == 200 and all((out / "wavs" / f"{line[0]}.wav").is_file() for line in lines)
    audiofolder = datasets.load_dataset("audiofolder", data_dir=str(out / "audiofolder"))
    assert {s: len(audiofolder[s]) for s in audiofolder} == dict(by_split)

    # ten rows appended: the full shards stay as they were, the rest are written
    shards = {p: p.stat().st_mtime_ns for p in (out / "webdataset").glob("*/*.tar")}
    shards |= {p: p.stat().st_mtime_ns for p in (out / "parquet").glob("*/*.parquet")}
    again = build_corpus(corpus_config(prompts(tmp_path / "prompts.csv", range(210))), show_progress=False)
    assert (again.kept, again.synthesized) == (210, 10)
    unchanged = {p for p, ns in shards.items() if p.exists() and p.stat().st_mtime_ns == ns}
    full = {p for p in shards if p.suffix == ".tar" and sum(1 for _ in webdataset.WebDataset([str(p)])) == 64}
    assert full and full <= unchanged  # a full shard's rows are what they were: not written again
    assert len(shards) - len(unchanged) <= 2 * 3  # at most the last shard of each split, in each format
    assert sum(len(split) for split in datasets.load_dataset("parquet", data_dir=str(out / "parquet")).values()) == 210


def test_speaker_splits_keep_every_voice_in_one_split(corpus_config, tmp_path):
    voices = ("alba", "marius", "javert", "jean", "fantine", "cosette", "eponine", "azelma")
    config = corpus_config(prompts(tmp_path / "prompts.csv", range(40)), voices=voices, split_by="speaker",
                           formats=("ljspeech",), splits=(0.6, 0.2, 0.2))
    result = build_corpus(config, show_progress=False)
    rows = manifest(config.output)
    splits_of = {}
    for row in rows:
        splits_of.setdefault(row["voice"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits_of.values()) and len(splits_of) == 8
    assert {s for v in splits_of.values() for s in v} == {"train", "validation", "test"}
    assert set(result.voices.values()) == {5}  # 40 rows dealt to 8 voices


def test_a_voice_pool_from_a_folder_of_consented_samples(corpus_config, tmp_path):
    from helpers.voices import write_consent, write_sample

    folder = tmp_path / "pool"
    folder.mkdir()
    for n, name in enumerate(("ada", "bo", "cy")):
        write_consent(write_sample(folder / f"{name}.wav", 4.0, amplitude=0.2 + 0.05 * n))
    config = corpus_config(prompts(tmp_path / "prompts.csv", range(9)), voices=(), voice_pool=False,
                           voices_from=folder, formats=("pocket-tts-voices",))
    result = build_corpus(config, show_progress=False)
    assert result.voices == {"ada": 3, "bo": 3, "cy": 3}
    assert json.loads((config.output / "pocket-tts-voices" / "voices.json").read_text()) == ["ada", "bo", "cy"]
    card = (config.output / "README.md").read_text()
    assert card.count("with the consent of") == 3


def test_options_that_cannot_work_are_refused_before_anything_is_written(corpus_config, tmp_path):
    path = prompts(tmp_path / "prompts.csv", range(3))
    for overrides, message in [({"formats": ("ljspeech", "tfrecord")}, "not a corpus format"),
                               ({"shard_size": "lots"}, "--shard-size"),
                               ({"keep": "wer<=0.1"}, "measured by verification"),
                               ({"keep": "colour>=2"}, "no score 'colour'"),
                               ({"voice_pool": False, "split_by": "speaker"}, "needs one voice a row")]:
        with pytest.raises(PocketBatchError, match=message):
            build_corpus(corpus_config(path, **overrides), show_progress=False)
    assert not (tmp_path / "corpus").exists()


def test_a_book_is_cut_into_prompts_as_a_render_cuts_it(corpus_config, tmp_path):
    book = tmp_path / "tale.md"
    book.write_text("# The Tale\n\n## One\n\nThe ferry left at dawn. It was 1850.\n\n## Two\n\nDr. Smith waved.\n")
    config = corpus_config(book, voices=("alba",), voice_pool=False, formats=("ljspeech",))
    build_corpus(config, show_progress=False)
    rows = manifest(config.output)
    spoken = " ".join(r["normalized"] for r in rows)
    assert "eighteen fifty" in spoken and "Doctor Smith" in spoken
    assert len({r["id"] for r in rows}) == len(rows) >= 2


def test_word_times_of_real_speech_reach_pocket_tts_and_lhotse_as_their_scripts_write_them(tmp_path, small_model):
    """espeak's words aligned by verification against the bounds espeak itself reports, through the writers."""
    import lhotse
    from scipy.signal import resample_poly

    from pocket_batch.core.config import SAMPLE_RATE
    from pocket_batch.postproc.corpus.formats import FORMATS
    from pocket_batch.postproc.corpus.rows import transcript_words
    from pocket_batch.verify.backends import make_backend
    from pocket_batch.verify.judge import verify_audio

    from helpers.speech import SPEECH, utterances

    bounds = json.loads((SPEECH / "espeak" / "word_bounds.json").read_text())
    rows = [u for u in utterances("espeak") if u.key in bounds][:3]
    options = VerifyOptions(checks=("words",))
    backend = make_backend(options, [u.text for u in rows])
    config = CorpusConfig(csv=tmp_path / "p.csv", output=tmp_path / "corpus", formats=("pocket-tts", "lhotse"))
    written = []
    for u in rows:
        x = resample_poly(u.audio, SAMPLE_RATE, u.rate).astype(np.float32)
        verdict = verify_audio(backend, x, SAMPLE_RATE, u.text, options)
        offset = 2400  # as if the corpus WAV were trimmed 0.1 s into the take
        timed = transcript_words(u.text, verdict.words, SAMPLE_RATE, offset, x.size / SAMPLE_RATE)
        assert [w["word"] for w in timed] == u.text.split()  # the transcript's own words, punctuation and all
        for word, (_, start, end) in zip(timed, bounds[u.key]):
            assert abs(word["start"] - max(start - 0.1, 0)) < 0.2 and abs(word["end"] - (end - 0.1)) < 0.2, (u.key, word)
        wav = config.output / "wavs" / f"espeak/00/{u.key}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        sf.write(wav, x[offset:], SAMPLE_RATE, subtype="PCM_16")
        written.append({"id": u.key, "voice": "espeak", "file_name": f"espeak/00/{u.key}.wav", "text": u.text,
                        "normalized": u.text, "split": "train", "samples": x.size - offset, "sample_rate": SAMPLE_RATE,
                        "duration": round((x.size - offset) / SAMPLE_RATE, 3), "seed": 1, "model": "m",
                        "status": "passed", "wer": verdict.wer, "words": timed})
    for name in config.formats:
        with FORMATS[name](config.output, config) as fmt:
            for row in written:
                fmt.add(row)
    entries = [json.loads(line) for line in open(config.output / "pocket-tts" / "train.jsonl")]
    # training/scripts/align_data.py: {"word", "start", "end"} per whitespace word of the transcript
    assert [e["words"] for e in entries] == [r["words"] for r in written]
    supervisions = lhotse.load_manifest(config.output / "lhotse" / "supervisions_train.jsonl.gz")
    for supervision, row in zip(supervisions, written):
        items = supervision.alignment["word"]
        assert [i.symbol for i in items] == [w["word"] for w in row["words"] if w["start"] is not None]
        assert all(abs(i.end - w["end"]) < 1e-6 for i, w in zip(items, row["words"]))
