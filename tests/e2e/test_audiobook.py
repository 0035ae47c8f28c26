"""The audiobook as a listener and a distributor check it, read back with ffmpeg, not with our own code."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

from pocket_batch.core.config import PRESETS, PostprocOptions
from pocket_batch.postproc.tags import read_synthetic

from helpers.readback import AAC_FRAME, RATE, chapters_of, ebur128

@pytest.fixture(scope="module")
def audiobook(sample_render):
    """The sample EPUB narrated by the random model (noise, not speech) at podcast loudness, chapters as FLAC."""
    out = sample_render["sample.epub"]
    return out, json.loads((out / "manifest.json").read_text())


def test_m4b_chapter_marks_match_the_chapters(audiobook):
    out, manifest = audiobook
    marks = chapters_of(out / manifest["outputs"]["m4b"])
    assert [m[2] for m in marks] == [c["title"] for c in manifest["chapters"]]
    for (start, end, _), chapter in zip(marks, manifest["chapters"]):
        assert abs(start - chapter["start"]) <= AAC_FRAME and abs(end - chapter["end"]) <= AAC_FRAME


def test_each_chapter_is_at_the_target_loudness_under_the_ceiling(audiobook):
    out, manifest = audiobook
    preset = PRESETS["podcast"]
    for chapter in manifest["chapters"]:
        loudness, peak = ebur128(out / chapter["file"])
        assert abs(loudness - preset.target) <= 1.0, (chapter["title"], loudness)
        assert peak <= preset.ceiling, (chapter["title"], peak)
        assert abs(chapter["loudness"] - preset.target) <= 0.2  # our own meter agrees
    loudness, peak = ebur128(out / manifest["outputs"]["m4b"])
    assert abs(loudness - preset.target) <= 1.0 and peak <= preset.ceiling


def test_pauses_of_the_configured_lengths_are_in_the_audio(audiobook):
    out, manifest = audiobook
    options = PostprocOptions()
    lengths = {"sentence": options.sentence_pause, "paragraph": options.paragraph_pause,
               "section": options.section_pause, "chapter": options.tail_room_tone}
    seen = set()
    for chapter in manifest["chapters"]:
        audio, rate = sf.read(out / chapter["file"])
        base = chapter["start_sample"]
        for chunk in chapter["chunks"]:
            begin = chunk["offset"] - base + chunk["samples"]
            gap = audio[begin:begin + round(lengths[chunk["boundary"]] * rate)]
            assert gap.size == round(lengths[chunk["boundary"]] * rate)
            assert 20 * np.log10(np.sqrt(np.mean(gap ** 2))) < -60  # room tone: ACX's noise floor
            speech = audio[chunk["offset"] - base:chunk["offset"] - base + chunk["samples"]]
            assert 20 * np.log10(np.sqrt(np.mean(speech ** 2))) > -40
            seen.add(chunk["boundary"])
        head = audio[:round(options.head_room_tone * rate)]
        assert np.sqrt(np.mean(head ** 2)) < 10 ** (-60 / 20)
    assert {"sentence", "paragraph", "chapter", "section"} <= seen


def test_subtitles_are_monotonic_and_match_the_manifest(audiobook):
    out, manifest = audiobook
    srt = (out / manifest["outputs"]["srt"]).read_text()
    vtt = (out / manifest["outputs"]["vtt"]).read_text()
    assert vtt.startswith("WEBVTT")
    times = re.findall(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)", srt)
    chunks = [c for ch in manifest["chapters"] for c in ch["chunks"]]
    assert len(times) == len(chunks) == vtt.count(" --> ")
    previous_end = 0
    for cue, chunk in zip(times, chunks):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, cue[:8])
        start, end = (h1 * 3600 + m1 * 60 + s1) * 1000 + ms1, (h2 * 3600 + m2 * 60 + s2) * 1000 + ms2
        assert previous_end <= start < end
        assert start == round(chunk["offset"] * 1000 / RATE) and end == round((chunk["offset"] + chunk["samples"]) * 1000 / RATE)
        assert cue[8] == chunk["text"]  # the original text, not the normalized one
        previous_end = end


def test_tags_cover_and_synthetic_statement(audiobook):
    out, manifest = audiobook
    from mutagen.mp4 import MP4

    m4b = MP4(out / manifest["outputs"]["m4b"])
    assert m4b.tags["\xa9nam"] == ["A Test Book"] and m4b.tags["\xa9ART"] == ["Ada Example"]
    assert m4b.tags["\xa9wrt"] == ["Pocket TTS \u2014 fantine"] and m4b.tags["\xa9day"] == ["1859"]
    assert m4b.tags["covr"] and read_synthetic(out / manifest["outputs"]["m4b"]) == "true"
    assert read_synthetic(out / manifest["chapters"][0]["file"]) == "true"
    assert manifest["synthetic_speech"]["ai_generated"] is True
    assert [c["title"] for c in manifest["chapters"]] == ["Part One", "Chapter 1", "Chapter 2", "Chapter 3", "Chapter 4"]
