"""The optional Whisper backend never downloads: without its weights in the cache, one line says so."""

from __future__ import annotations

import pytest

from pathlib import Path

from helpers.cli import cli as run

pytestmark = pytest.mark.slow  # the CLI in a process of its own

SPEECH = Path(__file__).parents[1] / "fixtures" / "speech"


def test_whisper_without_its_weights_is_one_line_naming_them(tmp_path):
    offline = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty-cache")}
    result = run("verify", SPEECH / "espeak", "--verify-backend", "whisper", "--report", tmp_path / "v.json",
                 env=offline)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: whisper model 'small.en' is not in the Hugging Face cache")
    assert not (tmp_path / "v.json").exists()
