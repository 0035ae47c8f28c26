"""The sample EPUB narrated once per session, for every test that reads an audiobook back."""

from __future__ import annotations

import pytest

from pocket_batch.core.config import ModelOptions, PostprocOptions, RunConfig, VerifyOptions
from pocket_batch.pipeline.run import render

from epubs import sample_book


@pytest.fixture(scope="session")
def sample_render(small_model, tmp_path_factory) -> dict:
    """The sample EPUB, and the same book as EPUB 2, narrated by the random model (noise, not speech) at podcast
    loudness, chapters as FLAC, with read-along books: each input's output folder, by file name."""
    folder = tmp_path_factory.mktemp("sample")
    inputs = (sample_book().write(folder / "sample.epub"),
              sample_book(version=2, nav=False).write(folder / "epub2.epub"))  # the same text: all of it cached
    config = RunConfig(inputs=inputs, output=folder / "out", voice="fantine", workers=0,
                       model=ModelOptions(config=small_model), verify=VerifyOptions(enabled=False),
                       postproc=PostprocOptions(loudness="podcast", format="flac", readalong="sentences"))
    result = render(config, show_progress=False)
    assert not result.failed
    return {book.source.name: book.folder for book in result.books}
