"""The real-speech fixtures (tests/fixtures/speech, made by its make_fixtures.py), read for tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SPEECH = Path(__file__).parents[1] / "fixtures" / "speech"


@dataclass(frozen=True)
class Utterance:
    key: str
    text: str
    audio: np.ndarray
    rate: int


def utterances(name: str) -> list[Utterance]:
    folder = SPEECH / name
    out = []
    for line in (folder / "metadata.csv").read_text(encoding="utf-8").splitlines():
        key, text = line.split("|")[:2]
        audio, rate = sf.read(folder / "wavs" / f"{key}.wav", dtype="float32")
        out.append(Utterance(key, text, audio, rate))
    return out


def espeak_word_bounds() -> dict[str, list[tuple[str, float, float]]]:
    """Each text word, and where espeak-ng said it starts and ends (seconds), as it spoke."""
    return json.loads((SPEECH / "espeak" / "word_bounds.json").read_text())


def sphinx_hearing() -> dict:
    """What the installed pocketsphinx makes of every fixture and of two stretches of noise: its free decode
    with the general model (each segment's frames and scores), and the backend's hearing of each utterance
    with its own text and with the next one's (transcript, aligned spans, misfit). Plain JSON values."""
    from dataclasses import asdict

    from pocketsphinx import Decoder

    from pocket_batch.verify.sphinx import FAST_SEARCH, SphinxBackend, _pcm16
    from pocket_batch.verify.words import words

    rows = utterances("espeak") + utterances("two_cities")
    rng = np.random.default_rng(0)
    noise = [Utterance(f"noise{n}", rows[n].text, rng.normal(0, 0.1, 16_000 * 8).astype("float32"), 16_000)
             for n in range(2)]
    rows += noise
    general = Decoder(samprate=16_000, loglevel="FATAL", **FAST_SEARCH)
    backend = SphinxBackend(tuple(" ".join(words(u.text)) for u in rows))
    out = {}
    for n, u in enumerate(rows):
        segments = SphinxBackend._decode(general, _pcm16(u.audio, u.rate))
        heard = {}
        for which, text in (("own", u.text), ("next", rows[(n + 1) % len(rows)].text)):
            hearing = backend.hear(u.audio, u.rate, words(text), 0.5)
            heard[which] = {"transcript": hearing.transcript, "misfit": hearing.misfit,
                            "spans": None if hearing.spans is None else [asdict(s) for s in hearing.spans]}
        out[u.key] = {"general": [[s.word, s.start_frame, s.end_frame, s.ascore, s.lscore] for s in segments],
                      **heard}
    return out
