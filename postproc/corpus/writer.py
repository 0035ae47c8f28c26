"""Writing a corpus as its takes pass, one row at a time: evened 16-bit WAVs, the manifest, and each format.

    corpus/wavs/<voice>/<xx>/<id>.wav     xx: 256 subfolders a voice, by a hash of the id
    corpus/manifest.jsonl                 every published utterance: texts, split, take, scores, word times
    corpus/left_out.jsonl                 every utterance not published, with each take's reasons
    corpus/report.json, report.html, README.md   counts and the first left-out rows; the review page; the card
    corpus/<format>/...                   the layouts asked for (formats/)

Nothing is held per row but what the page's tally needs (a duration each): a million rows write as a
thousand do. A rerun takes each earlier row in step (previous.py): a WAV that is still this take, evened
so, is left as it is.
"""

from __future__ import annotations

import time
from array import array
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import soundfile as sf

from pocket_batch.core.audio import resample
from pocket_batch.core.config import SAMPLE_RATE, CorpusConfig
from pocket_batch.core.files import atomic_open, atomic_path, sha256_file, write_json
from pocket_batch.postproc.corpus.card import write_card
from pocket_batch.postproc.corpus.formats import FORMATS
from pocket_batch.postproc.corpus.formats.base import json_line
from pocket_batch.postproc.corpus.previous import PreviousRows
from pocket_batch.postproc.corpus.rows import Entry, transcript_words
from pocket_batch.postproc.loudness import chunk_level, db_to_gain, limit
from pocket_batch.postproc.placement import trim_bounds
from pocket_batch.postproc.qa import SILENCE_BELOW_PEAK_DB
from pocket_batch.postproc.report import write_corpus_report
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Voice

MAX_GAIN_DB = 20.0
SHOWN_LEFT_OUT = 1000  # on the page and in report.json; left_out.jsonl has them all


def write_wav(target: Path, x: np.ndarray, config: CorpusConfig) -> tuple[int, int]:
    """Trimmed, evened to the target loudness under the ceiling, resampled; (samples written, samples trimmed
    from the take's start)."""
    start, end = published_span(x)
    x = x[start:end]
    level = chunk_level(x, SAMPLE_RATE, "lufs")
    gain = float(np.clip(config.target_lufs - level, -MAX_GAIN_DB, MAX_GAIN_DB)) if np.isfinite(level) else 0.0
    x = limit((x * db_to_gain(gain)).astype(np.float32), config.ceiling, SAMPLE_RATE)
    x = np.clip(resample(x, SAMPLE_RATE, config.sample_rate), -1.0, 1.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    # not synced one by one: the manifest, renamed into place at the end, is what commits a run's WAVs
    with atomic_path(target, durable=False) as tmp:
        sf.write(tmp, x, config.sample_rate, subtype="PCM_16", format="WAV")
    return int(x.size), start


def published_span(x: np.ndarray) -> tuple[int, int]:
    """The samples of a take its corpus WAV keeps: silence at either end trimmed, as QA measures it."""
    return trim_bounds(x, SILENCE_BELOW_PEAK_DB)


def evened(config: CorpusConfig) -> list:
    """What a corpus WAV is made with beyond its take: the same take evened otherwise is another file."""
    return [config.target_lufs, config.ceiling, config.sample_rate]


class Tally:
    """What the card and the page say of the whole corpus, kept small."""

    def __init__(self):
        self.counts: Counter[tuple[str, str]] = Counter()  # (voice, split) -> rows
        self.durations = array("f")
        self.left_out: Counter[str] = Counter()  # voice -> rows
        self.shown: list[dict] = []

    @property
    def kept(self) -> int:
        return len(self.durations)


class CorpusWriter:
    def __init__(self, config: CorpusConfig, source: ModelSource, voices: dict[str, Voice], cache: AudioCache,
                 judged: str = "", normalizer: str = ""):
        """`judged`, `normalizer`: fingerprints of the settings a take was judged with and its text normalized
        with, kept in each row so a rerun knows what it need not do again."""
        self.config, self.source, self.voices, self.cache = config, source, voices, cache
        self.judged, self.normalizer = judged, normalizer
        self.out = config.output
        self.wavs = self.out / "wavs"
        self.tally = Tally()
        self._stack = ExitStack()

    def __enter__(self) -> CorpusWriter:
        self.out.mkdir(parents=True, exist_ok=True)
        self.started = time.time_ns()  # a WAV older than this was not written by this run
        self.previous = PreviousRows(self.out / "manifest.jsonl")
        self.manifest = self._stack.enter_context(atomic_open(self.out / "manifest.jsonl"))
        self.left_out = self._stack.enter_context(atomic_open(self.out / "left_out.jsonl"))
        self.formats = [self._stack.enter_context(FORMATS[name](self.out, self.config)) for name in self.config.formats]
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None:
            for old in self.previous.rest():
                self._unpublish(old)
        self._stack.__exit__(kind, *exc)  # formats finish, then every file is renamed into place
        if kind is None:
            self._summaries()

    def claim(self, file_name: str) -> dict | None:
        """The earlier run's row of this WAV, if any: asked for each row in the order rows are written."""
        return self.previous.claim(file_name)

    def reusable(self, old: dict | None, key: str) -> bool:
        """The earlier row is this take, judged with these settings, and its WAV is as written."""
        return bool(old and old.get("key") == key and old.get("judged") == self.judged and self._unchanged(old))

    def _unchanged(self, old: dict) -> bool:
        return (old.get("evened") == evened(self.config) and isinstance(old.get("samples"), int)
                and _size(self.wavs / old["file_name"]) == 44 + 2 * old["samples"])

    def add(self, e: Entry, split: str, old: dict | None) -> None:
        """A take that passed: its WAV (unless an earlier run wrote this one), its row everywhere."""
        row = self._row(e, split, old)
        if old and old.get("split") != split:
            self._drop(old | {"moved": True})
        self.manifest.write(json_line(row))
        for fmt in self.formats:
            fmt.add(row)
        self.tally.counts[e.voice.name, split] += 1
        self.tally.durations.append(row["duration"])
        for stale in self.previous.passed():
            self._unpublish(stale)

    def leave_out(self, failure: dict, old: dict | None) -> None:
        """An utterance not published, with every take's reasons."""
        if old:
            self._unpublish(old)
        self.left_out.write(json_line(failure))
        self.tally.left_out[failure["voice"]] += 1
        if len(self.tally.shown) < SHOWN_LEFT_OUT:
            self.tally.shown.append(failure)

    def _row(self, e: Entry, split: str, old: dict | None) -> dict:
        wav = self.wavs / e.file
        if old and old.get("key") == e.key and self._unchanged(old):
            samples, digest, words = old["samples"], old["sha256"], old.get("words")
        else:  # a new take, or other settings: written (again)
            samples, offset = write_wav(wav, self.cache.read(e.key), self.config)
            digest = sha256_file(wav)
            duration = samples / self.config.sample_rate
            words = transcript_words(e.chunk.normalized, e.words, SAMPLE_RATE, offset, duration)
        row = {"id": e.row.id, "voice": e.voice.name, "file_name": e.file, "text": e.row.text,
               "normalized": e.chunk.normalized, "normalizer": self.normalizer, "tokens": e.tokens, "split": split, "samples": samples,
               "sample_rate": self.config.sample_rate, "duration": round(samples / self.config.sample_rate, 3),
               "key": e.key, "seed": int(e.key[:12], 16), "model": self.source.fingerprint, "qa_flags": e.flags,
               "evened": evened(self.config), "judged": self.judged, "sha256": digest} | e.scores
        return row | ({"words": words} if words else {})

    def _unpublish(self, old: dict) -> None:
        """An earlier row this run does not publish: its WAV goes, unless this run wrote that file anew."""
        wav = self.wavs / old["file_name"]
        if _size(wav) == 44 + 2 * old.get("samples", -1) and wav.stat().st_mtime_ns < self.started:
            wav.unlink()
        self._drop(old)

    def _drop(self, old: dict) -> None:
        for fmt in self.formats:
            fmt.drop(old)

    def _summaries(self) -> None:
        t = self.tally
        write_json(self.out / "report.json", {"kept": t.kept, "failed": sum(t.left_out.values()),
                                              "failures": t.shown, "all_failures": "left_out.jsonl"})
        write_corpus_report(self.out / "report.html", f"Corpus from {self.config.csv.name}", t.counts,
                            np.asarray(t.durations), t.left_out, t.shown, self.cache)
        write_card(self.out / "README.md", self.config, self.source, self.voices, t.counts, float(np.sum(t.durations)),
                   sum(t.left_out.values()), [FORMATS[name] for name in self.config.formats])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


__all__ = ["CorpusWriter", "evened", "published_span", "write_wav"]
