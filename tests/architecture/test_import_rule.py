"""The import rule in pyproject.toml holds on the tree, and breaks when a stage imports the layer above."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # import-linter over copies of the tree

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("core", "ingest", "synth", "verify", "postproc", "pipeline", "jobs", "benchmarks", "testing")


def lint(tree: Path) -> subprocess.CompletedProcess:
    """import-linter's own command on `tree` (a folder holding pocket_batch/ and pyproject.toml)."""
    env = os.environ | {"PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
                           "--config", str(tree / "pyproject.toml"), "--no-cache"],
                          cwd=tree, env=env, capture_output=True, text=True)


def copy_tree(tmp_path: Path) -> Path:
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, tmp_path / "pocket_batch" / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_tree_keeps_every_contract(tmp_path):
    result = lint(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line", [
    ("synth/pool/worker.py", "from pocket_batch.pipeline import run"),  # a stage reaching up to the orchestration
    ("core/records.py", "from pocket_batch.synth.model import cache"),  # the leaf importing a stage
    ("ingest/book.py", "from pocket_batch.synth import work"),  # one independent stage importing another
    ("synth/model/cache.py", "from pocket_batch.benchmarks import synth"),  # the product importing a benchmark
])
def test_an_import_against_the_rule_breaks_it(tmp_path, module, line):
    tree = copy_tree(tmp_path)
    path = tree / "pocket_batch" / module
    path.write_text(path.read_text() + f"\n{line}  # against the rule\n")
    result = lint(tree)
    assert result.returncode != 0 and "BROKEN" in result.stdout, result.stdout + result.stderr
    assert module.replace("/", ".").removesuffix(".py") in result.stdout
