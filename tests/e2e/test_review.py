"""The review page in a real browser, and `redo`: two rejected chunks made again, only their chapters rewritten."""

from __future__ import annotations

import json
import re
import shutil
import zipfile

import pytest

from pocket_batch.core.config import ModelOptions, PostprocOptions, RunConfig, VerifyOptions
from pocket_batch.postproc.manifest import read_manifest
from pocket_batch.pipeline.redo import redo
from pocket_batch.pipeline.run import render

from helpers.browser import local_file, visit
from helpers.readback import AAC_FRAME, chapters_of

BOOK = """CHAPTER I

The morning was grey. Anna walked to the harbour.

CHAPTER II

The island was quiet. Nobody met her at the pier.

CHAPTER III

By evening the ferry came back. She went home.
"""
CUE = re.compile(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)")
PAGE = """() => ({
  rows: document.querySelectorAll('#chapter-table tbody tr').length,
  players: [...document.querySelectorAll('audio')].map(a => a.src),
  flagged: [...document.querySelectorAll('#flagged article.chunk')].map(a => a.id),
  levels: document.querySelectorAll('#loudness figure.level svg path').length,
  timeline: document.querySelectorAll('#book svg').length,
  title: document.querySelector('h1').textContent,
})"""


@pytest.fixture(scope="module")
def rendered(small_model, tmp_path_factory):
    """A 3-chapter book by the random model (noise: every chunk runs to max length, so every one is flagged)."""
    folder = tmp_path_factory.mktemp("review")
    source = folder / "three.txt"
    source.write_text(BOOK)
    config = RunConfig(inputs=(source,), output=folder / "out", voice="alba", workers=0,
                       model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False),
                       postproc=PostprocOptions(readalong="sentences"))
    render(config, show_progress=False)
    return config


def test_the_report_in_headless_chromium(rendered, tmp_path):
    out = rendered.output
    manifest = read_manifest(out)
    shot = tmp_path / "report.png"
    seen = visit(out / "report.html", PAGE, screenshot=shot)
    print("screenshot:", shot)
    assert seen.errors == []
    assert seen.requests == [(out / "report.html").resolve().as_uri()]  # nothing fetched, from anywhere
    found = seen.found
    assert found["title"] == manifest.book.title and found["rows"] == len(manifest.chapters) == 3
    players = [local_file(src) for src in found["players"]]
    assert all(p.is_file() and p.stat().st_size > 1000 for p in players)
    chapter_files = {(out / c.file).resolve() for c in manifest.chapters}
    assert chapter_files <= {p.resolve() for p in players}
    flagged = [c.id for ch in manifest.chapters for c in ch.chunks if c.problems()]
    assert flagged and found["flagged"] == [f"chunk-{i}" for i in flagged]
    assert found["levels"] >= 3 * 2 and found["timeline"] == 1  # a curve and a target line per chapter
    assert shot.stat().st_size > 10_000


def subtitles(path) -> list[tuple[float, float, str]]:
    cues = []
    for m in CUE.finditer(path.read_text()):
        g = m.groups()
        cues.append((int(g[0]) * 3600 + int(g[1]) * 60 + int(g[2]) + int(g[3]) / 1000,
                     int(g[4]) * 3600 + int(g[5]) * 60 + int(g[6]) + int(g[7]) / 1000, g[8]))
    return cues


def test_redo_two_chunks_rewrites_only_their_chapters(rendered, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(rendered.output, out)  # moved: a redo works where the folder is now
    before = read_manifest(out)
    files = {c.index: (out / c.file).read_bytes() for c in before.chapters}

    result = redo(out, ["ch002-s00002", "ch003-s00001"], show_progress=False)
    after = read_manifest(out)
    assert result.synthesized == 2 and result.chapters == [2, 3]
    assert (out / before.chapters[0].file).read_bytes() == files[1]  # untouched, byte for byte
    assert all((out / c.file).read_bytes() != files[c.index] for c in after.chapters[1:])
    old = {c.id: c.key for ch in before.chapters for c in ch.chunks}
    new = {c.id: c.key for ch in after.chapters for c in ch.chunks}
    assert {i for i in old if old[i] != new[i]} == {"ch002-s00002", "ch003-s00001"}
    assert [(r.id, r.previous_key, r.key) for r in after.redone] == [
        (i, old[i], new[i]) for i in ("ch002-s00002", "ch003-s00001")]
    marks = chapters_of(out / after.outputs.m4b)
    assert [m[2] for m in marks] == [c.title for c in after.chapters]
    for (start, end, _), chapter in zip(marks, after.chapters):
        assert abs(start - chapter.start) <= AAC_FRAME and abs(end - chapter.end) <= AAC_FRAME
    cues = subtitles(out / after.outputs.srt)
    chunks = [c for ch in after.chapters for c in ch.chunks]
    assert [c[2] for c in cues] == [c.text for c in chunks]
    for (start, end, _), chunk in zip(cues, chunks):
        assert abs(start - chunk.start) <= 0.001 and abs(end - (chunk.start + chunk.duration)) <= 0.002
    book = zipfile.ZipFile(out / after.readalong.file)
    assert book.read("EPUB/readalong/audio/002.mp3") == (out / after.chapters[1].file).read_bytes()
    assert after.intact(out) and "ch003-s00001" in (out / "report.html").read_text()


def test_redo_refuses_what_it_cannot_do_in_one_line_and_changes_nothing(rendered, capsys):
    from pocket_batch.pipeline.cli import _run  # what main() runs, without a new interpreter per case

    out = rendered.output
    manifest = (out / "manifest.json").read_bytes()
    for args, message in ((["--chunk", "ch009-s00001"], "no chunk ch009-s00001 in this book"),
                          ([], "nothing to redo"),
                          (["--chunk", "ch001-s00001", "--seed", "0"], "--seed 0 makes the take it has")):
        assert _run(["redo", str(out), *args]) == 2
        stderr = capsys.readouterr().err
        assert message in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert (out / "manifest.json").read_bytes() == manifest


def test_11_redo_runs_no_program_and_touches_no_path_a_manifest_names(rendered, tmp_path, capsys):
    """A shared folder's manifest is anyone's to edit: what it names is never run, and a key is never a path."""
    from pocket_batch.pipeline.cli import _run

    out, marker, victim = tmp_path / "out", tmp_path / "evil-ran", tmp_path / "victim3"
    shutil.copytree(rendered.output, out)
    evil = tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    evil.chmod(0o755)
    data = json.loads((out / "manifest.json").read_text())
    data["config"]["postproc"]["ffmpeg"] = str(evil)
    (out / "manifest.json").write_text(json.dumps(data))
    result = redo(out, ["ch001-s00001"], show_progress=False)
    assert result.synthesized == 1 and not marker.exists()  # encoded with this install's ffmpeg

    victim.mkdir()
    for name in ("important.json", "important.wav"):
        (victim / name).write_bytes(b"keep me")
    data = json.loads((out / "manifest.json").read_text())
    data["chapters"][0]["chunks"][1]["key"] = "../../../victim3/important"
    (out / "manifest.json").write_text(json.dumps(data))
    before = (out / "manifest.json").read_bytes()
    assert _run(["redo", str(out), "--chunk", "ch001-s00002"]) == 2
    stderr = capsys.readouterr().err
    assert "'../../../victim3/important': not a chunk key" in stderr and len(stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in victim.iterdir()) == ["important.json", "important.wav"]
    assert (out / "manifest.json").read_bytes() == before


def test_flagged_names_every_chunk_still_flagged(rendered):
    from pocket_batch.pipeline.redo import chosen_chunks

    manifest = read_manifest(rendered.output)
    everything = [c.id for ch in manifest.chapters for c in ch.chunks]  # noise never ends: all at max length
    assert chosen_chunks(manifest, [], True, rendered.output) == everything
    assert chosen_chunks(manifest, ["ch002-s00001"], False, rendered.output) == ["ch002-s00001"]


def test_a_redone_chunk_of_a_verified_book_is_heard_again_and_keeps_its_takes(small_model, tmp_path):
    source = tmp_path / "short.txt"
    source.write_text("The morning was grey. Anna walked to the harbour and waited.")
    config = RunConfig(inputs=(source,), output=tmp_path / "out", voice="alba", workers=0,
                       model=ModelOptions(config=small_model), verify=VerifyOptions(retries=0))
    render(config, show_progress=False)
    before = read_manifest(tmp_path / "out")
    chunk = before.chapters[0].chunks[0]
    result = redo(tmp_path / "out", [chunk.id], show_progress=False)
    after = read_manifest(tmp_path / "out")
    redone = after.chapters[0].chunks[0]
    assert [t.key for t in redone.verify.takes] == [chunk.key, redone.key] != [chunk.key, chunk.key]
    assert redone.verify.takes[-1].attempt == 1 and result.flags[chunk.id]  # noise: heard, and still flagged
    assert after.verification.verified == before.verification.verified
    assert chunk.id in after.verification.flagged and [r.id for r in after.redone] == [chunk.id]



def test_19_a_redo_that_fails_late_leaves_the_book_as_it_was(rendered, tmp_path, monkeypatch):
    from pocket_batch.pipeline import finish

    out = tmp_path / "out"
    shutil.copytree(rendered.output, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and "logs" not in p.parts}

    def full_disk(*args, **kwargs):  # the last output of all: the M4B, chapters and read-along are made by now
        raise OSError(28, "No space left on device", str(out / "report.html"))

    monkeypatch.setattr(finish, "write_book_report", full_disk)
    with pytest.raises(OSError, match="No space left"):
        redo(out, ["ch002-s00002"], show_progress=False)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and "logs" not in p.parts}
    changed = {name for name in before if after.get(name) != before[name]} | (set(after) - set(before))
    assert {name.parts[0] for name in changed} <= {".pocket-batch", "cache"}  # the new take is cached, nothing else
    monkeypatch.undo()
    result = redo(out, ["ch002-s00002"], show_progress=False)  # the same redo, once there is room
    assert result.chapters == [2] and read_manifest(out).intact(out)
    assert not list(out.rglob(".pocket-batch-scratch-*"))
