"""`pocket-batch verify DATASET`: the same check as a run's, over recordings that already exist.

Each recording is heard by the recognizer against its transcript; verify.json gets, per
utterance, the transcript heard, the word error rate, the flags and the aligned word times.
Recordings are spread over one process per core, each with its own recognizer.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import soundfile as sf

from pocket_batch.core.config import VerifyOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import write_json
from pocket_batch.core.records import Verdict
from pocket_batch.ingest.datasets import Recording, read_dataset
from pocket_batch.verify.backends import make_backend, verdicts_fingerprint
from pocket_batch.verify.hearing import Backend
from pocket_batch.verify.judge import verify_audio


@dataclass(frozen=True)
class DatasetCheck:
    report: Path
    verdicts: list[tuple[Recording, Verdict]]
    seconds: float  # of audio heard

    @property
    def flagged(self) -> list[tuple[Recording, Verdict]]:
        return [(r, v) for r, v in self.verdicts if not v.passed]


_backend: Backend | None = None


def _hear(recording: Recording, options: VerifyOptions, backend: Backend) -> tuple[Verdict, int, int]:
    """The recording's verdict, its sample count and its rate (word times are in its samples)."""
    global _backend  # one recognizer per process: its decoders load on its first recording
    if _backend is None or _backend.fingerprint != backend.fingerprint:
        _backend = backend
    try:
        audio, rate = sf.read(recording.audio, dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:  # a header that opens over samples that do not decode
        raise PocketBatchError(f"{recording.audio}: not readable audio ({exc})") from None
    mono = audio.mean(axis=1)
    if not mono.size:  # nothing to hear: flagged as it is, not given to the recognizer
        return Verdict(backend.name, "", 1.0, None, ("empty: the recording has no samples",)), 0, rate
    return verify_audio(_backend, mono, rate, recording.text, options), mono.size, rate


def _check_readable(recordings: list[Recording]) -> None:
    """Every recording opens as audio, checked from its header before any is heard."""
    for recording in recordings:
        try:
            sf.info(recording.audio)
        except (OSError, RuntimeError) as exc:  # soundfile's errors are RuntimeErrors
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise PocketBatchError(f"{recording.audio} ({recording.where}): not readable audio ({reason})") from None


def check_dataset(folder: Path, options: VerifyOptions, report: Path | None = None,
                  workers: int | None = None) -> DatasetCheck:
    recordings = read_dataset(folder)
    _check_readable(recordings)
    backend = make_backend(options, [r.text for r in recordings])
    backend.check()
    report = report or folder / "verify.json"
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        heard = [_hear(r, options, backend) for r in recordings]
    else:
        with ProcessPoolExecutor(workers) as pool:
            heard = list(pool.map(_hear, recordings, [options] * len(recordings), [backend] * len(recordings),
                                  chunksize=4))
    verdicts = [(r, v) for r, (v, _, _) in zip(recordings, heard)]
    write_json(report, {
        "dataset": str(folder), "verifier": verdicts_fingerprint(backend, options),
        "utterances": len(verdicts), "flagged": sum(not v.passed for _, v in verdicts),
        "results": [{"id": r.id, "audio": str(r.audio.relative_to(folder)), "text": r.text} | _verdict(v, rate)
                    for r, (v, _, rate) in zip(recordings, heard)],
    })
    return DatasetCheck(report, verdicts, sum(samples / rate for _, samples, rate in heard))


def _verdict(verdict: Verdict, rate: int) -> dict:
    data = asdict(verdict)
    data["words"] = [[w.word, round(w.start / rate, 3), round(w.end / rate, 3)] for w in verdict.words]  # seconds
    data["passed"] = verdict.passed
    return data
