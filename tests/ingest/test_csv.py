"""CSV prompts: layouts, delimiters and quoting, and bad rows refused with their line numbers."""

from __future__ import annotations

import codecs

import pytest

from pocket_batch.ingest.csvfile import read_csv, read_prompts
from pocket_batch.core.errors import PocketBatchError


def write(tmp_path, text, name="prompts.csv", bom=False):
    path = tmp_path / name
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode())
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
def test_header_with_any_delimiter_bom_and_quoted_newlines(tmp_path, delimiter):
    d = delimiter
    path = write(tmp_path, f'id{d}text{d}speaker\r\na1{d}"Hello{d} there."{d}alba\r\n'
                           f'a2{d}"A line\nthat wraps, ""quoted""."{d}marius\r\na3{d}Plain.{d}\r\n', bom=True)
    rows = read_csv(path, voice_column="speaker")
    assert [(u.id, u.text, u.voice, u.row) for u in rows] == [
        ("a1", " ".join(f"Hello{d} there.".split()), "alba", 2),  # whitespace folded
        ("a2", 'A line that wraps, "quoted".', "marius", 3),
        ("a3", "Plain.", None, 5),
    ]


def test_configurable_column_names(tmp_path):
    path = write(tmp_path, "file,sentence\nx,Hi there.\n")
    assert read_csv(path, id_column="file", text_column="sentence")[0].text == "Hi there."


def test_ljspeech_without_header_and_quotes_as_text(tmp_path):
    path = write(tmp_path, 'LJ001-0001|He said "stop" twice.|He said "stop" twice.\nLJ001-0002|Second.|Second.\n',
                 name="metadata.csv")
    rows = read_csv(path)
    assert [(u.id, u.text) for u in rows] == [("LJ001-0001", 'He said "stop" twice.'), ("LJ001-0002", "Second.")]


def test_bad_rows_are_all_refused_with_row_numbers(tmp_path):
    path = write(tmp_path, "id,text\nok,Fine.\nok,Again.\nempty,\n../up,Escape.\n/abs,Abs.\nCON,Reserved.\n"
                           f"{'x' * 101},Long.\n\"bad\x01id\",Control.\n")
    with pytest.raises(PocketBatchError) as info:
        read_csv(path)
    message = str(info.value)
    for expected in ["row 3: duplicate id 'ok' (first at row 2)", "row 4: empty text", "row 5: id contains a path separator",
                     "row 6: id contains a path separator", "row 7: id is a reserved", "row 8: id longer than 100",
                     "row 9: id contains control characters"]:
        assert expected in message
    assert "\n" not in message


def test_a_stray_quote_never_merges_rows_silently(tmp_path):
    path = write(tmp_path, 'id,text\na1,"Opened but never closed.\na2,Second row.\na3,Third row.\n')
    with pytest.raises(PocketBatchError, match="row 2"):
        read_csv(path)


def test_missing_columns_is_a_clear_error(tmp_path):
    with pytest.raises(PocketBatchError, match="no header naming"):
        read_csv(write(tmp_path, "name,sentence\nx,Hi.\n"))
    with pytest.raises(PocketBatchError, match="no 'speaker' column"):
        read_csv(write(tmp_path, "id,text\nx,Hi.\n"), voice_column="speaker")


def test_a_text_file_is_one_prompt_a_line_numbered_by_its_line(tmp_path):
    path = tmp_path / "sentences.txt"
    path.write_text("# public-domain sentences\nThe birch canoe slid on the smooth planks.\n\n"
                    "  Glue the sheet to the dark blue background.  \nIt's easy to tell the depth of a well.\n")
    rows = read_prompts(path)
    assert [(r.id, r.text, r.row) for r in rows] == [
        ("line-000002", "The birch canoe slid on the smooth planks.", 2),
        ("line-000004", "Glue the sheet to the dark blue background.", 4),
        ("line-000005", "It's easy to tell the depth of a well.", 5)]
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(PocketBatchError, match=r"empty\.txt: no rows"):
        read_prompts(tmp_path / "empty.txt")
