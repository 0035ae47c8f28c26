"""Reliability round three, the parts that need no model: each test is named after the issue's item."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from pocket_batch.core.config import IngestOptions, ModelOptions, RunConfig
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import write_json
from pocket_batch.core.layout import OutputLayout
from pocket_batch.pipeline.housekeeping import cache_usage, prune_cache
from pocket_batch.pipeline.lock import remove_partial_files
from pocket_batch.pipeline.run import folder_clashes, render
from pocket_batch.pipeline.views import error, show_inspect, warning
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.verify.store import VerdictStore

MARKUP = "Another [voice: marius line [/voice] that [bold]never[/] closes [/b]"


@pytest.mark.parametrize("names", [("a.md", "a.txt"), ("...txt", "..md"), (".. .txt", "...txt"), ("a.txt", "a.txt")])
def test_10_books_never_overwrite_each_other(tmp_path, names):
    inputs = [tmp_path / name for name in names]
    for path in inputs:
        path.write_text("One sentence.\n")
    config = RunConfig(inputs=tuple(inputs), output=tmp_path / "out",
                       model=ModelOptions(config=tmp_path / "no-model.yaml"))
    [(later, earlier)] = folder_clashes(config, config.inputs)
    assert (later, earlier) == (inputs[1], inputs[0])
    with pytest.raises(PocketBatchError, match="would write to the same folder as"):
        render(config, show_progress=False)  # refused before a model (here: none at all) is looked at
    assert not (tmp_path / "out").exists()


def test_4_every_input_is_checked_before_anything_loads(tmp_path):
    book = tmp_path / "book.txt"
    book.write_text("One sentence.\n")
    locked = tmp_path / "locked.txt"
    locked.mkdir()
    for bad, why in ((tmp_path / "inpsect", "input file not found"), (locked, "not a file"),
                     (tmp_path / "sheet.xlsx", "not a book pocket-batch reads")):
        if bad.suffix == ".xlsx":
            bad.write_bytes(b"PK")
        config = RunConfig(inputs=(book, bad), output=tmp_path / "out", model=ModelOptions(config=tmp_path / "none"))
        with pytest.raises(PocketBatchError, match=why):
            render(config, show_progress=False)
    assert not (tmp_path / "out").exists()


def test_11_keys_and_fingerprints_read_back_are_never_paths(tmp_path):
    victim = tmp_path / "victim3"
    victim.mkdir()
    (victim / "important.json").write_text("{}")
    (victim / "important.wav").write_bytes(b"RIFF")
    cache = AudioCache(tmp_path / "out" / "cache")
    for key in ("../../victim3/important", "../" * 3 + "victim3/important", "..x", ".hidden", "a/b", "ab" * 16 + "\n", ""):
        with pytest.raises(PocketBatchError, match="not a chunk key"):
            cache.get(key)
        assert not cache.has(key)
        with pytest.raises(PocketBatchError, match="not a chunk key"):
            VerdictStore(tmp_path / "verdicts", "pocketsphinx-0123").get(key)
    for fingerprint in ("..", "../../victim3", "a/b"):
        with pytest.raises(PocketBatchError, match="not a verifier's fingerprint"):
            VerdictStore(tmp_path / "verdicts", fingerprint)
    assert sorted(p.name for p in victim.iterdir()) == ["important.json", "important.wav"]


def test_12_a_killed_runs_leftovers_are_ours_alone(tmp_path):
    out = tmp_path / "out"
    (out / "downloads").mkdir(parents=True)
    (out / "downloads" / ".movie.mkv.part").write_bytes(b"half a film")
    (out / "My Music" / ".readalong-photos").mkdir(parents=True)
    (out / "My Music" / ".readalong-photos" / "cat.jpg").write_bytes(b"jpg")
    (out / ".assemble-notes").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".x.pocket-batch-partial").write_bytes(b"")
    (elsewhere / ".pocket-batch-scratch-assemble-1").mkdir()
    (out / "linked").symlink_to(elsewhere)
    (out / "book").mkdir()
    (out / "book" / ".b.m4b.abcd.pocket-batch-partial").write_bytes(b"")
    (out / "book" / ".pocket-batch-scratch-readalong-xyz").mkdir()
    assert remove_partial_files(out) == 2
    assert (out / "downloads" / ".movie.mkv.part").is_file()
    assert (out / "My Music" / ".readalong-photos" / "cat.jpg").is_file() and (out / ".assemble-notes").is_dir()
    assert sorted(p.name for p in elsewhere.iterdir()) == [".pocket-batch-scratch-assemble-1", ".x.pocket-batch-partial"]
    assert list((out / "book").iterdir()) == []


def _entry(folder: Path, key: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.wav").write_bytes(b"RIFF....")
    write_json(folder / f"{key}.json", {})


def test_12_pruning_never_follows_a_link_out_of_the_cache(tmp_path):
    out, victim, other = tmp_path / "out", tmp_path / "victim", tmp_path / "other"
    _entry(victim, "cd" * 16)
    (victim / "song.wav").write_bytes(b"RIFF")
    _entry(out / "cache" / "ab", "ab" * 16)
    (out / "cache" / "ab" / "my holiday.wav").write_bytes(b"RIFF")  # not a key: not ours
    (out / "cache" / "cd").symlink_to(victim)
    OutputLayout(out).state.mkdir(parents=True)
    assert cache_usage(out).entries == 1
    assert prune_cache(out).entries == 1
    assert sorted(p.name for p in victim.iterdir()) == ["cd" * 16 + ".json", "cd" * 16 + ".wav", "song.wav"]
    assert (out / "cache" / "ab" / "my holiday.wav").is_file()

    _entry(other / "cache" / "ef", "ef" * 16)
    linked = tmp_path / "linked"
    OutputLayout(linked).state.mkdir(parents=True)
    os.symlink(other / "cache", linked / "cache")
    with pytest.raises(PocketBatchError, match="not a cache of its own"):
        prune_cache(linked)
    assert (other / "cache" / "ef" / f"{'ef' * 16}.wav").is_file()


def test_1_text_from_a_users_file_is_printed_as_it_is(capsys):
    from pocket_batch.pipeline.inspect import ChapterSummary, InspectReport

    error(f"book.txt: {MARKUP}")
    warning(f"[red]{MARKUP}")
    report = InspectReport(path="b.txt", title=f"[/b]{MARKUP}", author="[link=file:///etc]x[/link]", language=None,
                           date=None, cover=False, words=3, chunks=1, distinct_chunks=1, counted_with="an estimate",
                           minutes=0.1, chapters=[ChapterSummary(index=1, title="[/i]Ch [x]", words=3, chunks=1, minutes=0.1)],
                           skipped=[], words_not_read=0, not_read=[], warnings=["[/voice] in a warning"], seconds=0.0)
    show_inspect(report)
    captured = capsys.readouterr()
    assert f"error: book.txt: {MARKUP}" in captured.err and f"warning: [red]{MARKUP}" in captured.err
    assert "[/b]Another [voice: marius" in captured.out and "[link=file:///etc]x[/link]" in captured.out
    assert "[/i]Ch [x]" in captured.out and "warning: [/voice] in a warning" in captured.out


def test_1_no_console_reads_markup():
    """Grep evidence in a test: every console the product prints on is made with markup off, and no printed
    string carries a rich tag (styles are Text spans)."""
    import re

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("pipeline/*.py"), *root.glob("jobs/*.py")]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "Console(" in line and "markup=False" not in line and "import" not in line:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
            if re.search(r"\.print\(f?[\"'].*\[(red|green|yellow|bold)\]", line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


def test_7_every_options_shown_default_is_the_one_a_run_uses():
    import typer

    from pocket_batch.core import config as settings
    from pocket_batch.pipeline.cli import app
    from pocket_batch.verify.sphinx import SphinxBackend
    from pocket_batch.verify.whisper import WhisperBackend

    models = (settings.RunConfig, settings.CorpusConfig, settings.ModelOptions, settings.GenerationOptions,
              settings.IngestOptions, settings.PostprocOptions, settings.VerifyOptions, settings.QAOptions)
    fields = {}
    for model in models:
        for name, field in model.model_fields.items():
            fields.setdefault(name, []).append(field)
    def shown(value) -> str:
        return ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value)

    checked, wrong = 0, []
    for command in typer.main.get_command(app).commands.values():
        for param in getattr(command, "params", []):
            if param.param_type_name == "option" and param.name in fields and param.default is not None:
                if (command.name, param.name) == ("redo", "workers"):  # a few chunks: in-process, its own default
                    continue
                if not any(shown(param.default) == shown(f.default) for f in fields[param.name]):
                    wrong.append((command.name, param.name, param.default, [f.default for f in fields[param.name]]))
                checked += 1
    assert wrong == [] and checked >= 30
    render = typer.main.get_command(app).commands["render"]
    with render.context_class(render) as ctx:  # typer's own click
        text = render.get_help(ctx)
    shown = " ".join(text.split())
    assert f"{SphinxBackend.max_wer} pocketsphinx, {WhisperBackend.max_wer} whisper" in shown  # what a run uses
    assert 'pip install "pocket-batch[whisper]"' in shown  # help text is shown as written, never as markup


@pytest.mark.parametrize("name", ["chapters 1-2", "$(touch pwned)", "it's `here`", "a;b&c|d"])
def test_19_the_reports_redo_command_pastes_as_one_folder_and_runs_nothing(tmp_path, name):
    import subprocess

    from pocket_batch.postproc.report import redo_command

    folder = tmp_path / name
    command = redo_command(folder, "ch001-s00002").replace("pocket-batch", "printf '%s\\n'", 1)
    shown = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert shown.splitlines() == ["redo", str(folder), "--chunk", "ch001-s00002"]
    assert not (tmp_path / "pwned").exists()


DATASETS = {  # metadata file, its bytes, the one-line error it gets
    "latin-1": ("metadata.csv", "a|caf\xe9 au lait|caf\xe9 au lait\n".encode("latin-1"), "line 1: not UTF-8 text"),
    "unclosed quote": ("metadata.csv", ('file_name,text\na.wav,"hello\n' + "x" * 140_000 + "\n").encode(),
                       "line 2: not CSV .*an unclosed quote"),
    "absolute file": ("metadata.csv", b"file_name,text\n/etc/passwd,hello\n", "line 2: '/etc/passwd' is not a file inside"),
    "file out of the folder": ("metadata.jsonl", b'{"file_name": "../a.wav", "text": "hi"}\n', "line 1: '../a.wav' is not"),
    "numeric file": ("metadata.jsonl", b'{"file_name": 5, "text": "hi"}\n', "line 1: needs file_name and a text column"),
    "numeric text": ("metadata.jsonl", b'{"file_name": "a.wav", "text": 5}\n', "line 1: needs file_name and a text column"),
    "row not an object": ("metadata.jsonl", b'{"file_name": "a.wav", "text": "hi"}\n[1, 2]\n', "line 2: each line is a JSON object"),
}


@pytest.mark.parametrize("case", DATASETS)
def test_16_a_hostile_dataset_gets_one_line_naming_its_metadata(tmp_path, case):
    from pocket_batch.ingest.datasets import read_dataset

    name, data, why = DATASETS[case]
    folder = tmp_path / "dataset"
    (folder / "wavs").mkdir(parents=True)
    (folder / name).write_bytes(data)
    for wav in ("a.wav", "wavs/a.wav", "../a.wav"):
        (folder / wav).write_bytes(b"RIFF")
    with pytest.raises(PocketBatchError, match=f"^{folder / name} {why}"):
        read_dataset(folder)


@pytest.mark.parametrize("text, why", [('voices = "marius"', "not voices = 'marius'"), ('"" = "marius"', "not ''"),
                                       ('Jo = ""', "not 'Jo'"), ('Jo = 3', "not 'Jo'")])
def test_16_a_voice_map_in_another_syntax_gets_one_line(tmp_path, text, why):
    from pocket_batch.ingest.dialogue import read_voice_map

    path = tmp_path / "voices.toml"
    path.write_text(text + "\n")
    with pytest.raises(PocketBatchError, match=f"^{path}: a voice map is lines of .*{why}"):
        read_voice_map(path)
    with pytest.raises(ValueError, match="at least 1 character"):  # a job file's [voices] table: the same rule
        IngestOptions(characters={"": "marius"})


def test_15_a_long_input_name_gets_a_state_file_the_file_system_takes(tmp_path):
    layout = OutputLayout(tmp_path / "out")
    long_names = ["長" * 82 + ".txt", "長" * 82 + "x.txt", "a" * 250 + ".md"]
    paths = [layout.book_state(Path("books") / name) for name in long_names]
    assert len(set(paths)) == 3  # cut to fit, and still one per input
    for path in paths:
        write_json(path, {"ok": True})  # with its temp name, too: no "File name too long"
    assert layout.book_state(Path("a.txt")).name == "a.txt.json"  # short names are as they were: states found again


def test_14_a_read_along_book_is_published_only_well_formed(tmp_path):
    from pocket_batch.postproc.readalong.package import Package, container_xml, xml_text

    opf = (b'<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata/><manifest>'
           b'<item id="a" href="a.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="a"/>'
           b'</spine></package>')
    authors = b"<html><body><p>An author's page, left as it is.</p></body></html>"
    package = Package({"mimetype": b"application/epub+zip", "META-INF/container.xml": container_xml("OEBPS/p.opf"),
                       "OEBPS/p.opf": opf, "OEBPS/a.xhtml": authors}, "book.epub")
    package.set_meta("media:narrator", "Pocket TTS \x01voice\x1a")  # a voice name with control characters
    package.write(tmp_path / "ok.epub")
    assert b"Pocket TTS voice" in zipfile.ZipFile(tmp_path / "ok.epub").read("OEBPS/p.opf")
    package.files["OEBPS/a.xhtml"] = b"<html><body><p>A heading \x01 made by us</p></body></html>"
    with pytest.raises(PocketBatchError, match="OEBPS/a.xhtml would not be well-formed XML"):
        package.write(tmp_path / "broken.epub")
    assert not (tmp_path / "broken.epub").exists()
    assert xml_text("CHAPTER\x01II\x1a") == "CHAPTERII"
