"""docs/reference/ is what the code says now: the CLI, the manifest's and inspect's schemas, the exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocket_batch.core import errors
from pocket_batch.pipeline import reference

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "python -m pocket_batch.pipeline.reference docs/reference"


@pytest.mark.parametrize("name", sorted(reference.reference()))
def test_the_checked_in_reference_is_current(name):
    path = ROOT / "docs" / "reference" / name
    assert path.is_file(), f"docs/reference/{name} is missing: run {COMMAND}"
    assert path.read_text(encoding="utf-8") == reference.reference()[name], f"docs/reference/{name} is stale: run {COMMAND}"


def test_every_command_and_every_exit_code_is_in_it():
    import typer

    from pocket_batch.pipeline.cli import app

    cli = reference.cli_reference()
    command = typer.main.get_command(app)
    for name, sub in command.commands.items():
        assert f"`pocket-batch {name}" in cli
        for param in getattr(sub, "params", []):
            for flag in getattr(param, "opts", []):
                if flag.startswith("--"):
                    assert flag in cli, f"{name} {flag}"
    codes = reference.exit_codes()
    assert all(f"| {code.value} | `{code.name}` |" in codes for code in errors.ExitCode)


def test_a_changed_meaning_changes_the_reference(monkeypatch):
    before = reference.reference()["exit-codes.md"]
    monkeypatch.setitem(errors.EXIT_MEANINGS, errors.ExitCode.LOCKED, "another meaning")
    assert reference.reference()["exit-codes.md"] != before


def test_the_manifest_schema_is_the_models_own():
    import json

    from pocket_batch.postproc.manifest import MANIFEST_VERSION, Manifest

    schema = json.loads(reference.reference()["manifest.schema.json"])
    assert schema["title"] == "Manifest"
    assert schema["properties"]["schema_version"]["default"] == MANIFEST_VERSION
    assert set(schema["properties"]) == set(Manifest.model_fields)
