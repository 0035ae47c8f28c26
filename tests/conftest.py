"""Shared fixtures: the project's small random model and one local Ray cluster per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Loopback only, no telemetry: set before Ray is imported anywhere.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

from pocket_batch.core.config import ModelOptions, PostprocOptions, RunConfig, VerifyOptions
from pocket_batch.testing.random_model import make_random_model

from helpers.epubs import sample_book

TEXT = (
    "It was the best of times, it was the worst of times. Mr. Lorry paid for the coach.\n\n"
    "\"Are you there?\" she asked. He said nothing."
)


# What a test needs, by the fixtures it takes; a test module can also say so with `pytestmark`.
NEEDS = {"small_model": "model", "make_config": "model", "sample_render": "model", "ray_cluster": "ray"}
HEAVY = ("model", "ray", "browser")


def pytest_collection_modifyitems(items):
    """`slow` marks every test that needs a model, Ray or the browser, and the whole-stack tests in e2e/:
    `python -m pytest -m "not slow"` runs the pure-logic rest."""
    for item in items:
        needs = {NEEDS[name] for name in item.fixturenames if name in NEEDS}
        for kind in needs:
            item.add_marker(kind)
        if needs or "e2e" in item.path.parts or any(item.get_closest_marker(kind) for kind in HEAVY):
            item.add_marker("slow")


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
