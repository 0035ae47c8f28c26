"""A book counts as finished only for the same bytes and settings, with its manifest in place."""

from __future__ import annotations

import shutil

from pocket_batch.core.files import write_record
from pocket_batch.postproc.manifest import BookEntry, Manifest, OutputFile, Outputs, SyntheticSpeech, read_manifest
from pocket_batch.pipeline.state import DONE, FAILED, BookState, is_finished, read_states, write_state


def manifest() -> Manifest:
    return Manifest(synthetic_speech=SyntheticSpeech(ai_generated=True, statement="synthetic"),
                    book=BookEntry(source="book.txt", sha256="sha-a", title="T", author=None, language="en", date=None,
                                   skipped=[], words_read=10, words_not_read=0, not_read=[], warnings=[]),
                    outputs=Outputs(m4b="T.m4b", srt="T.srt", vtt="T.vtt", sample_rate=24000, samples=24000,
                                    duration=1.0, chunks=1, distinct_chunks=1),
                    loudness={}, config={}, model={}, voice={}, software={}, chapters=[], max_length_chunks=[],
                    files=[OutputFile(path="T.m4b", bytes=5, sha256="x")])


def test_finished_needs_done_same_input_same_settings_and_the_manifest(tmp_path):
    out, folder = tmp_path / "out", tmp_path / "out" / "book"
    source = tmp_path / "book.txt"
    folder.mkdir(parents=True)
    write_state(out, BookState(str(source), "sha-a", "set-1", "book", status=DONE, keys=["k1", "k2"]))
    assert not is_finished(out, source, "sha-a", "set-1")  # no manifest yet
    (folder / "manifest.json").write_text("{}")
    assert not is_finished(out, source, "sha-a", "set-1")  # a manifest that is not one
    write_record(folder / "manifest.json", manifest())
    assert not is_finished(out, source, "sha-a", "set-1")  # the M4B it names is missing
    (folder / "T.m4b").write_bytes(b"12345")
    assert is_finished(out, source, "sha-a", "set-1")
    (folder / "T.m4b").write_bytes(b"1234")
    assert not is_finished(out, source, "sha-a", "set-1")  # not the size it was written at
    (folder / "T.m4b").write_bytes(b"12345")
    assert read_manifest(folder) == manifest()
    assert not is_finished(out, source, "sha-b", "set-1")  # the input changed
    assert not is_finished(out, source, "sha-a", "set-2")  # a setting that changes the audio changed
    assert not is_finished(out, tmp_path / "other.txt", "sha-a", "set-1")  # never planned
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert is_finished(copy, source, "sha-a", "set-1")  # a copied folder is finished as itself...
    (copy / "book" / "T.m4b").unlink()
    assert not is_finished(copy, source, "sha-a", "set-1")  # ...and not by the files of the folder it came from
    assert is_finished(out, source, "sha-a", "set-1")
    write_state(out, BookState(str(source), "sha-a", "set-1", "book", status=FAILED, reason="x"))
    assert not is_finished(out, source, "sha-a", "set-1")


def test_states_round_trip(tmp_path):
    state = BookState("/in/a.epub", "sha", "set", "a", status=FAILED, keys=["k"], reason="disk full",
                      failed_chunks={"k": "boom"}, audio_seconds=1.5)
    write_state(tmp_path, state)
    assert read_states(tmp_path) == [state]
