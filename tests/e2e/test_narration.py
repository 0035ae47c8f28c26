"""Narration control on the real stack: voices by role and mark, pauses, each chunk's voice in the manifest."""

from __future__ import annotations

import re

import pytest

from pocket_batch.core.config import IngestOptions, ModelOptions, RunConfig, VerifyOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.postproc.manifest import read_manifest
from pocket_batch.pipeline.run import render

DIALOGUE = """CHAPTER I

“It is late,” said Javert. “Go home.”

Anna looked up. «Not yet,» Anna replied. The lamp flickered.

"Who is there?" somebody called from the dark.

Javert said, ‘Nobody you know.’ Then he left.
"""


def run(small_model, folder, source, **ingest):
    config = RunConfig(inputs=(source,), output=folder / "out", voice="alba", workers=0,
                       model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False),
                       ingest=IngestOptions(**ingest))
    result = render(config, show_progress=False)
    return result, read_manifest(result.books[0].folder)


def test_narration_dialogue_and_characters_get_their_voices_and_one_character_changes_alone(small_model, tmp_path):
    source = tmp_path / "dialogue.txt"
    source.write_text(DIALOGUE)
    _, manifest = run(small_model, tmp_path, source, dialogue_voice="marius",
                      characters={"Javert": "javert", "Anna": "azelma"})
    said = {c.text: (c.voice, c.role) for c in manifest.chapters[0].chunks}
    assert said["It is late,"] == ("javert", "attributed to Javert")  # “…” said NAME
    assert said["Go home."] == ("javert", "attributed to Javert")  # the same speaker goes on
    assert said["Not yet,"] == ("azelma", "attributed to Anna")  # «…» NAME replied
    assert said["Who is there?"] == ("marius", "dialogue")  # "…" with no known speaker
    assert said["Nobody you know."] == ("javert", "attributed to Javert")  # NAME said, ‘…’
    assert said["Anna looked up."] == (None, "narration")
    assert not any(q in text for text in said for q in "“”«»\"‘’")  # quote marks are not read

    javert = sum(role == "attributed to Javert" for _, role in said.values())
    again, _ = run(small_model, tmp_path, source, dialogue_voice="marius", characters={"Javert": "jean", "Anna": "azelma"})
    assert again.books[0].error is None and again.synthesized == javert == 3


def test_marks_give_chunks_their_voice_and_pause_in_the_audio(small_model, tmp_path):
    source = tmp_path / "marked.txt"
    source.write_text("The keeper climbed the stairs. [pause 1.5s] He lit the lamp.\n\n"
                      "[voice: marius]Dear Anna, the sea is calm.[/voice]\n")
    _, manifest = run(small_model, tmp_path, source)
    stairs, lamp, letter = manifest.chapters[0].chunks
    assert (stairs.voice, lamp.voice, letter.voice) == (None, None, "marius")
    assert letter.role == "voice mark" and stairs.role == "narration"
    assert lamp.offset - (stairs.offset + stairs.samples) == round(1.5 * 24_000)  # the mark's pause, exactly

    bad = tmp_path / "bad.txt"
    bad.write_text("One line.\n\nTwo [pause two] three.\n")
    with pytest.raises(PocketBatchError, match=rf"^{re.escape(str(bad))}:3: malformed mark '\[pause two\]'"):
        run(small_model, tmp_path / "bad", bad)
    assert not (tmp_path / "bad").exists()  # nothing written


def test_a_preview_and_a_chapter_then_the_whole_book_synthesizes_only_the_rest(small_model, tmp_path):
    source = tmp_path / "three.txt"
    source.write_text("".join(f"CHAPTER {n}\n\n" + " ".join(f"Line {s} of part {n} goes here, and then on a little further."
                                                            for s in range(1, 9)) + "\n\n" for n in ("I", "II", "III")))
    preview, _ = run(small_model, tmp_path, source, preview=3.0)
    folder = tmp_path / "out" / "preview"
    previewed = read_manifest(folder)
    assert previewed.book.title.endswith("(preview)") and (folder / previewed.outputs.m4b).name.endswith("(preview).m4b")
    assert [len(c.chunks) for c in previewed.chapters] == [2, 2, 2]  # a heading and a line: about 3 s of text
    second, _ = run(small_model, tmp_path, source, chapters="2")
    chapter = read_manifest(tmp_path / "out" / "chapters 2")
    assert [c.title for c in chapter.chapters] == ["CHAPTER II"]
    whole, manifest = run(small_model, tmp_path, source)
    chunks = {c.key for ch in manifest.chapters for c in ch.chunks}
    done = {c.key for m in (previewed, chapter) for ch in m.chapters for c in ch.chunks}
    assert whole.synthesized == len(chunks - done) and done < chunks


def test_a_faster_rate_shortens_speech_and_pauses_by_its_factor_and_subtitles_follow(small_model, tmp_path):
    from pocket_batch.core.config import PostprocOptions

    source = tmp_path / "rate.txt"
    source.write_text("The keeper climbed the stairs. He lit the lamp and watched the sea.\n\nShips passed in the night.\n")
    manifests = {}
    for rate in (1.0, 1.15):
        config = RunConfig(inputs=(source,), output=tmp_path / "out", voice="alba", workers=0, folder_per_input=True,
                           model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False),
                           postproc=PostprocOptions(rate=rate))
        result = render(config, show_progress=False)
        manifests[rate] = read_manifest(result.books[0].folder)
    plain, fast = (manifests[r].chapters[0] for r in (1.0, 1.15))
    head, tail = round(0.75 * 24_000), round(2.0 * 24_000)
    assert abs((fast.samples - head - tail) / (plain.samples - head - tail) - 1 / 1.15) < 0.01
    assert [c.key for c in fast.chunks] == [c.key for c in plain.chunks]  # the same takes, played faster
    srt = (tmp_path / "out" / "rate" / manifests[1.15].outputs.srt).read_text()
    starts = re.findall(r"(\d\d):(\d\d):(\d\d),(\d{3}) -->", srt)
    shown = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in starts]
    assert shown == pytest.approx([c.start for c in fast.chunks], abs=0.0011)


def test_a_character_voice_is_checked_like_the_narrators_before_anything_is_written(small_model, tmp_path):
    from helpers.voices import write_sample

    source = tmp_path / "dialogue.txt"
    source.write_text(DIALOGUE)
    sample = write_sample(tmp_path / "stranger.wav", 5.0)  # a clone without a consent record
    with pytest.raises(PocketBatchError, match="consent"):
        run(small_model, tmp_path, source, characters={"Javert": str(sample)})
    assert not (tmp_path / "out").exists()
