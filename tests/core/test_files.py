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
