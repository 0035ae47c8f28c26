"""Output names are cut by bytes and never leave the output folder; some folders are never outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pocket_batch.core.config import JobConfig, RunConfig
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.layout import NAME_BYTES, inside, safe_name
from pocket_batch.pipeline.lock import remove_partial_files
from pocket_batch.pipeline.run import book_dir


@pytest.mark.parametrize("title", ["中文段落" * 20, "é" * 40 + "😀" * 10, "a" * 300])
def test_long_titles_are_cut_by_bytes_not_characters(tmp_path, title):
    name = safe_name(title, "chapter")
    assert 0 < len(name.encode("utf-8")) <= NAME_BYTES
    assert title.startswith(name)
    (tmp_path / f"01 {name}.mp3").write_bytes(b"")  # a real file system takes it, with room to spare
    (tmp_path / f".01 {name}.mp3.abcdefgh.pocket-batch-partial").write_bytes(b"")


@pytest.mark.parametrize("title", ["..", ".", "...", " ", "/", "a/../b"])
def test_dots_and_separators_never_make_a_path(title):
    name = safe_name(title, "book")
    assert name not in (".", "..", "") and "/" not in name


def test_an_input_named_dots_renders_inside_the_output_folder(tmp_path):
    config = RunConfig(inputs=(tmp_path / "...txt", tmp_path / "a.txt"), output=tmp_path / "out")
    folder = book_dir(config, tmp_path / "...txt")
    assert folder == tmp_path / "out" / "book"
    with pytest.raises(PocketBatchError, match="outside the output folder"):
        inside(tmp_path / "out", tmp_path / "out" / ".." / "x")


@pytest.mark.parametrize("folder", ["/", "~"])
def test_the_root_and_home_are_never_output_folders(folder):
    with pytest.raises(ValidationError, match="name a folder of its own"):
        RunConfig(inputs=(), output=Path(folder))
    with pytest.raises(ValidationError, match="name a folder of its own"):
        JobConfig(output=Path(folder), inputs=("a.txt",))


def test_scratch_folders_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / "book" / ".pocket-batch-scratch-assemble-abc123").mkdir(parents=True)
    (tmp_path / "book" / ".pocket-batch-scratch-assemble-abc123" / "chapters.ffmeta").write_text(";")
    (tmp_path / "book" / ".x.mp3.1234.pocket-batch-partial").write_bytes(b"")
    assert remove_partial_files(tmp_path) == 2
    assert list((tmp_path / "book").iterdir()) == []
