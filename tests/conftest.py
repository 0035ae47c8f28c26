"""Shared fixtures: the project's small random model and one local Ray cluster per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# Loopback only, no telemetry: set before Ray is imported anywhere.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

from pocket_batch.core.config import ModelOptions, PostprocOptions, RunConfig, VerifyOptions  # noqa: E402
from pocket_batch.testing.random_model import make_random_model  # noqa: E402

from epubs import sample_book  # noqa: E402

TEXT = (
    "It was the best of times, it was the worst of times. Mr. Lorry paid for the coach.\n\n"
    "\"Are you there?\" she asked. He said nothing."
)


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> Path:
    """The small architecture with random weights (noise, not speech), built once per session."""
    return make_random_model(tmp_path_factory.mktemp("model"), "english_2m_2026-10")


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def sample_render(small_model, tmp_path_factory) -> dict:
    """The sample EPUB, and the same book as EPUB 2, narrated by the random model (noise, not speech) at podcast
    loudness, chapters as FLAC, with read-along books: each input's output folder, by file name."""
    from pocket_batch.pipeline.run import render

    folder = tmp_path_factory.mktemp("sample")
    inputs = (sample_book().write(folder / "sample.epub"),
              sample_book(version=2, nav=False).write(folder / "epub2.epub"))  # the same text: all of it cached
    config = RunConfig(inputs=inputs, output=folder / "out", voice="fantine", workers=0,
                       model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False),
                       postproc=PostprocOptions(loudness="podcast", format="flac", readalong="sentences"))
    result = render(config, show_progress=False)
    assert not result.failed
    return {book.source.name: book.folder for book in result.books}


@pytest.fixture
def notes(tmp_path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text(TEXT)
    return path


@pytest.fixture
def make_config(small_model, tmp_path):
    def make(inputs, **overrides) -> RunConfig:
        # Verification off: the random model speaks noise, so every take would fail and be taken again.
        fields = {"output": tmp_path / "out", "voice": "alba", "workers": 0,
                  "model": ModelOptions(config=small_model), "verify": VerifyOptions(enabled=False)} | overrides
        return RunConfig(inputs=tuple(inputs), **fields)

    return make


def write_sample(path: Path, seconds: float, rate: int = 24_000, channels: int = 1,
                 subtype: str = "PCM_16", amplitude: float = 0.3) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    tone = amplitude * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    audio = np.stack([tone * (1 - 0.2 * c) for c in range(channels)], axis=1)
    sf.write(path, audio, rate, subtype=subtype)
    return path


def write_consent(sample: Path) -> Path:
    path = sample.with_suffix(".consent.json")
    path.write_text('{"speaker": "Test Speaker", "statement": "I consent to synthesis of my voice.",'
                    ' "date": "2026-11-25", "permitted_use": "tests"}')
    return path
