"""Verification end to end: `pocket-batch verify DATASET` on real speech, and books verified by default.

The random model speaks noise: every take of every chunk must fail verification, be taken again
exactly --verify-retries times, be kept, and be reported.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from helpers.cli import cli as run

from pocket_batch.core.config import VerifyOptions
from pocket_batch.core.errors import ExitCode
from pocket_batch.pipeline.housekeeping import prune_cache
from pocket_batch.pipeline.run import render

SPEECH = Path(__file__).parents[1] / "fixtures" / "speech"


def espeak_folder(tmp_path: Path, texts: dict[str, str]) -> Path:
    """An LJSpeech folder of the espeak-ng fixtures, with some rows' texts replaced."""
    folder = tmp_path / "lj"
    shutil.copytree(SPEECH / "espeak" / "wavs", folder / "wavs")
    rows = [line.split("|") for line in (SPEECH / "espeak" / "metadata.csv").read_text().splitlines()]
    (folder / "metadata.csv").write_text("".join(f"{key}|{texts.get(key, text)}\n" for key, text in rows))
    return folder


def test_verify_flags_exactly_the_rows_whose_texts_were_swapped_or_cut(tmp_path):
    rows = dict(line.split("|") for line in (SPEECH / "espeak" / "metadata.csv").read_text().splitlines())
    changed = {"es02": rows["es05"], "es05": rows["es02"],  # swapped
               "es04": "The old man walked down the road."}  # "slowly" cut from the text, not the audio
    folder = espeak_folder(tmp_path, changed)
    result = run("verify", folder, "--workers", "2")
    assert result.returncode == ExitCode.FLAGGED, result.stderr
    report = json.loads((folder / "verify.json").read_text())
    assert {r["id"] for r in report["results"] if not r["passed"]} == set(changed)
    assert report["utterances"] == 6 and report["flagged"] == 3
    good = next(r for r in report["results"] if r["id"] == "es01")
    assert [w[0] for w in good["words"]] == "the quick brown fox jumps over the lazy dog".split()
    assert all(0 <= start < end for _, start, end in good["words"])
    assert "3 flagged" in result.stderr and "es04" in result.stderr


def test_verify_reads_an_audiofolder_and_names_a_bad_layout(tmp_path):
    folder = tmp_path / "af" / "train"
    shutil.copytree(SPEECH / "espeak" / "wavs", folder)
    rows = [line.split("|") for line in (SPEECH / "espeak" / "metadata.csv").read_text().splitlines()]
    (folder / "metadata.jsonl").write_text("".join(
        json.dumps({"file_name": f"{key}.wav", "transcription": text}) + "\n" for key, text in rows))
    result = run("verify", tmp_path / "af", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "6 pass, 0 flagged" in result.stderr
    (tmp_path / "empty").mkdir()
    result = run("verify", tmp_path / "empty")
    assert result.returncode == ExitCode.COULD_NOT_RUN
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'empty'}: no dataset here: neither LJSpeech (metadata.csv and wavs/) nor an audiofolder "
        "(metadata.jsonl or metadata.csv with a file_name column)"]
    lj = espeak_folder(tmp_path, {})
    (lj / "wavs" / "es03.wav").unlink()
    result = run("verify", lj)
    assert result.returncode == ExitCode.COULD_NOT_RUN
    assert f"{lj / 'metadata.csv'} line 3: {lj / 'wavs' / 'es03.wav'} not found" in result.stderr


def test_a_book_is_verified_by_default_and_noise_is_retaken_kept_and_reported(small_model, notes, tmp_path):
    out = tmp_path / "out"
    args = [notes, "--model-config", small_model, "-o", out, "--workers", "0", "--verify-retries", "1",
            "--subtitles", "word"]
    result = run(*args)
    assert result.returncode == ExitCode.FLAGGED, result.stderr
    assert "verified" in result.stderr and "still" in result.stderr and "flagged" in result.stderr
    assert "4 chunks still fail verification" in result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    chunks = [c for ch in manifest["chapters"] for c in ch["chunks"]]
    assert len(chunks) == 4
    for c in chunks:
        assert [t["attempt"] for t in c["verify"]["takes"]] == [0, 1]  # the first take and exactly one retake
        assert len({t["key"] for t in c["verify"]["takes"]}) == 2 and c["key"] in {t["key"] for t in c["verify"]["takes"]}
        assert not c["verify"]["passed"] and c["verify"]["flags"]
    assert manifest["verification"]["verified"] == 4 and manifest["verification"]["regenerated"] == 4
    assert manifest["verification"]["flagged"] == [c["id"] for c in chunks]
    failing = json.loads((out / "verify.json").read_text())["failing"]
    assert [f["id"] for f in failing] == [c["id"] for c in chunks]
    assert all(f["text"] and f["takes"] == 2 and f["file"].startswith("chapters/") for f in failing)
    assert (out / "notes.vtt").read_text().startswith("WEBVTT") and (out / "notes.srt").is_file()


def test_a_rerun_synthesizes_and_hears_nothing_and_any_worker_count_keeps_the_same_takes(
        make_config, notes, tmp_path, ray_cluster):
    verify = VerifyOptions(enabled=True, retries=1)
    one = make_config([notes], verify=verify, output=tmp_path / "w0", workers=0)
    first = render(one, show_progress=False)
    assert first.flagged == 4 and first.synthesized == 8  # 4 chunks, 2 takes each
    verdicts = {p: p.stat().st_mtime_ns for p in (tmp_path / "w0" / "verdicts").rglob("*.json")}
    assert len(verdicts) == 8
    assert prune_cache(tmp_path / "w0").entries == 0  # every take is kept: the manifest lists them all
    (tmp_path / "w0" / "notes.m4b").unlink()  # the book renders again, from the caches
    again = render(one, show_progress=False)
    assert again.synthesized == 0 and again.flagged == 4
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "w0" / "verdicts").rglob("*.json")} == verdicts
    two = render(make_config([notes], verify=verify, output=tmp_path / "w2", workers=2), show_progress=False)
    assert two.flagged == 4
    takes = [json.loads((tmp_path / w / "manifest.json").read_text()) for w in ("w0", "w2")]
    assert [[c["verify"]["takes"] for c in ch["chunks"]] for ch in takes[0]["chapters"]] == \
           [[c["verify"]["takes"] for c in ch["chunks"]] for ch in takes[1]["chapters"]]
    for name in ("notes.m4b", "chapters/01 notes.mp3"):
        assert (tmp_path / "w0" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes()


if __name__ == "__main__":
    sys.exit("run with pytest")


def test_a_corpus_leaves_out_utterances_the_recognizer_does_not_hear(small_model, tmp_path):
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("id,text\nu1,The river was quiet.\nu2,The lantern shone.\n")
    out = tmp_path / "corpus"
    result = run("corpus", prompts, "--model-config", small_model, "-o", out, "--workers", "0", "--retries", "1",
                 "--max-length", "flag")  # max length kept: verification alone rejects the noise
    assert result.returncode == 1, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["failed"] == 2 and report["kept"] == 0
    for failure in report["failures"]:
        assert len(failure["attempts"]) == 2
        assert all(any(f.startswith("verify: ") for f in a["flags"]) for a in failure["attempts"])


def test_16_a_recording_with_no_samples_is_flagged_not_a_crash(tmp_path):
    import soundfile as sf

    lj = espeak_folder(tmp_path, {})
    sf.write(lj / "wavs" / "es03.wav", [], 22_050)
    result = run("verify", lj, "--workers", "1")
    assert result.returncode == ExitCode.FLAGGED, result.stderr
    report = json.loads((lj / "verify.json").read_text())
    assert [(r["id"], r["flags"]) for r in report["results"] if not r["passed"]] == [
        ("es03", ["empty: the recording has no samples"])]


def mixed_folder(tmp_path: Path) -> Path:
    """espeak's f2 reading ten sentences, but row 4 read by m3 and row 7 under white noise at 10 dB SNR."""
    import numpy as np
    import soundfile as sf

    folder = tmp_path / "mixed"
    (folder / "wavs").mkdir(parents=True)
    rows = []
    for n, line in enumerate((SPEECH / "voices" / "f2" / "metadata.csv").read_text().splitlines(), start=1):
        key, text = line.split("|")
        voice = "m3" if n == 4 else "f2"
        key = key.replace("f2", voice)
        audio, rate = sf.read(SPEECH / "voices" / voice / "wavs" / f"{key}.wav", dtype="float32")
        if n == 7:
            noise = np.random.default_rng(7).standard_normal(audio.size)
            audio = np.clip(audio + noise * np.sqrt(np.mean(audio**2) / 10 / np.mean(noise**2)), -1, 1)
        sf.write(folder / "wavs" / f"{key}.wav", audio, rate, subtype="PCM_16")
        rows.append(f"{key}|{text}\n")
    (folder / "metadata.csv").write_text("".join(rows))
    return folder


def test_verify_flags_exactly_the_row_in_another_voice_and_the_row_under_noise(tmp_path):
    folder = mixed_folder(tmp_path)
    result = run("verify", folder)
    assert result.returncode == ExitCode.FLAGGED, result.stderr
    report = json.loads((folder / "verify.json").read_text())
    flagged = {r["id"]: r["flags"] for r in report["results"] if r["flags"]}
    assert set(flagged) == {"m3-04", "f2-07"}, flagged
    assert any(f.startswith("voice:") for f in flagged["m3-04"])
    assert any(f.startswith("quality: noise") for f in flagged["f2-07"])
    for row in report["results"]:  # every row with its scores
        assert {"similarity", "snr_db", "pace", "end_db", "longest_pause"} <= set(row["scores"]), row
        assert row["speaker"] == "mixed"
    assert report["checks"] == ["words", "voice", "quality"] and report["notes"] == []


def test_verify_on_a_voice_the_recognizer_cannot_hear_says_so_once_and_flags_no_words(tmp_path):
    """espeak's m3: pocketsphinx mishears its right texts (median word error rate 0.44); it is unverified, exit 5."""
    result = run("verify", SPEECH / "voices" / "m3", "--report", tmp_path / "verify.json")
    assert result.returncode == ExitCode.UNVERIFIED, result.stderr
    lines = [line for line in result.stderr.splitlines() if "cannot hear" in line]
    assert len(lines) == 1 and "voice m3" in lines[0] and "median word error rate" in lines[0], result.stderr
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["flagged"] == 0 and report["unverified"] == 10
    assert all(r["status"] == "unverified" and not r["flags"] for r in report["results"])
    assert "10 unverified" in result.stderr


def test_verify_on_a_voice_it_hears_well_keeps_every_check(tmp_path):
    result = run("verify", SPEECH / "voices" / "f2", "--report", tmp_path / "verify.json")
    assert result.returncode == ExitCode.DONE, result.stderr
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["flagged"] == report["unverified"] == 0 and "cannot hear" not in result.stderr


def test_checks_chooses_the_gates_and_refuses_an_unknown_one(tmp_path):
    result = run("verify", SPEECH / "voices" / "m3", "--report", tmp_path / "v.json", "--checks", "voice,quality")
    assert result.returncode == ExitCode.DONE, result.stderr  # words not checked: nothing to say about them
    report = json.loads((tmp_path / "v.json").read_text())
    assert report["checks"] == ["voice", "quality"] and all(r["transcript"] == "" for r in report["results"])
    bad = run("verify", SPEECH / "voices" / "m3", "--checks", "words,colour")
    assert bad.returncode == ExitCode.COULD_NOT_RUN and bad.stderr.strip().count("\n") == 0, bad.stderr
    assert "--checks" in bad.stderr


def test_keep_drops_exactly_the_rows_whose_scores_fail_it_on_real_speech(tmp_path):
    """The mixed folder (m3 at row 4, noise at row 7) with row 5's text swapped for another sentence: a filter on
    words, voice and noise leaves out those three rows and no other, each with its reasons."""
    folder = mixed_folder(tmp_path)
    lines = (folder / "metadata.csv").read_text().splitlines()
    lines[4] = "f2-05|The farmer counted his sheep twice before he locked the gate."
    (folder / "metadata.csv").write_text("\n".join(lines) + "\n")
    result = run("verify", folder, "--keep", "wer<=0.2,similarity>=0.85,snr_db>=25")
    assert result.returncode == ExitCode.FLAGGED, result.stderr
    report = json.loads((folder / "verify.json").read_text())
    left_out = {r["id"]: r["left_out"] for r in report["results"] if not r["kept"]}
    assert set(left_out) == {"m3-04", "f2-05", "f2-07"}, left_out
    assert any(w.startswith("similarity") for w in left_out["m3-04"])
    assert [w.split()[0] for w in left_out["f2-05"]] == ["wer"]  # its voice and sound are fine
    assert any(w.startswith("snr_db") for w in left_out["f2-07"])
    kept = (folder / "kept.csv").read_text().splitlines()
    assert [line.split("|")[0] for line in kept] == [f"f2-{n:02d}" for n in (1, 2, 3, 6, 8, 9, 10)]
    assert "7 of 10 meet --keep" in result.stdout + result.stderr


def test_keep_on_a_voice_the_recognizer_cannot_hear_keeps_no_row_for_its_words(tmp_path):
    """m3's word error rates are not trusted (unverified): a condition on wer leaves every row out and says why,
    even m3-09 whose transcript happened to match; conditions on voice and noise still judge its rows."""
    result = run("verify", SPEECH / "voices" / "m3", "--report", tmp_path / "verify.json", "--keep", "wer<=0.2")
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["kept"] == 0 and all(r["left_out"] == ["wer not measured"] for r in report["results"])
    result = run("verify", SPEECH / "voices" / "m3", "--report", tmp_path / "v2.json", "--keep", "similarity>=0.85")
    assert json.loads((tmp_path / "v2.json").read_text())["kept"] == 10, result.stderr
    assert not (SPEECH / "voices" / "m3" / "kept.csv").exists()  # beside the report, not in the dataset
