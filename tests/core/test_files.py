import os
import stat

import pytest

from pocket_batch.core.files import atomic_open, write_json


def test_a_written_file_has_the_mode_a_plain_open_gives_and_no_temp_is_left(tmp_path):
    target = tmp_path / "new" / "folder" / "record.json"  # its folders do not exist yet
    write_json(target, {"a": 1}, durable=False)
    plain = tmp_path / "plain"
    plain.write_text("")
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert os.listdir(target.parent) == ["record.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "record.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as f:
        f.write("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["record.json"]


def test_an_os_error_without_a_file_names_the_target(tmp_path):
    target = tmp_path / "record.json"
    with pytest.raises(OSError, match="record.json"), atomic_open(target):
        raise OSError(28, "No space left on device")
    assert os.listdir(tmp_path) == []


def test_every_kept_record_reads_back_as_itself_and_a_stranger_does_not_read(tmp_path):
    from pocket_batch.core.files import read_record, write_record
    from pocket_batch.core.records import ChunkAudio, Take, Verdict, WordTime
    from pocket_batch.pipeline.state import BookState

    verdict = Verdict("sphinx:1", "a cat", 0.5, None, ("words missing",), (WordTime("a", 0, 10), WordTime("cat", 10, 40)))
    audio = ChunkAudio("k1", 480, 24_000, False, "w:1", 0.25, "ab", verdict, (Take(0, "k1", verdict),))
    state = BookState("/in/b.txt", "sha", "set", "b", keys=["k1"], failed_chunks={"k1": "boom"}, audio_seconds=2.0)
    for record in (verdict, audio, state):
        write_record(tmp_path / "r.json", record)
        assert read_record(tmp_path / "r.json", type(record)) == record
    write_record(tmp_path / "r.json", audio, exclude={"verdict", "takes"})
    assert read_record(tmp_path / "r.json", ChunkAudio) == ChunkAudio("k1", 480, 24_000, False, "w:1", 0.25, "ab")
    with pytest.raises(ValueError):
        read_record(tmp_path / "r.json", Verdict)  # a cache record is not a verdict
    (tmp_path / "r.json").write_text("{not json")
    with pytest.raises(ValueError):
        read_record(tmp_path / "r.json", ChunkAudio)
