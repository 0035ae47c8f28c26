"""`pocket-batch verify DATASET`: the same checks as a run's, over recordings that already exist.

Each recording is heard by the recognizer against its transcript and measured (speaker embedding,
noise, pauses, ending, pace); then each is judged against the recordings of its own speaker (its
speaker column, else its folder), the reference being their robust centroid. verify.json gets, per
utterance, the transcript heard, the word error rate, the scores, the flags and the aligned word
times. Recordings are spread over one process per core, each with its own models.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from pocket_batch.core.config import VerifyOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import atomic_open, write_json
from pocket_batch.core.records import Verdict
from pocket_batch.ingest.datasets import Recording, read_dataset
from pocket_batch.postproc.corpus.keep import Keep
from pocket_batch.verify.backends import make_backend, verdicts_fingerprint
from pocket_batch.verify.gates import Gates, Heard
from pocket_batch.verify.hearing import Backend
from pocket_batch.verify.judge import verify_audio
from pocket_batch.verify.words import words


@dataclass(frozen=True)
class DatasetCheck:
    report: Path
    verdicts: list[tuple[Recording, Verdict]]
    seconds: float  # of audio heard
    notes: list[str]  # one line per speaker the recognizer cannot hear
    kept: int | None = None  # recordings meeting --keep, when given

    @property
    def flagged(self) -> list[tuple[Recording, Verdict]]:
        return [(r, v) for r, v in self.verdicts if not v.passed]

    @property
    def unverified(self) -> list[tuple[Recording, Verdict]]:
        return [(r, v) for r, v in self.verdicts if v.status == "unverified"]


_backend: Backend | None = None


def _hear(recording: Recording, options: VerifyOptions, backend: Backend | None) -> tuple[Verdict, int, int]:
    """The recording's verdict as measured alone, its sample count and its rate (word times are in its samples)."""
    global _backend  # one recognizer per process: its decoders load on its first recording
    if backend is not None and (_backend is None or _backend.fingerprint != backend.fingerprint):
        _backend = backend
    try:
        audio, rate = sf.read(recording.audio, dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:  # a header that opens over samples that do not decode
        raise PocketBatchError(f"{recording.audio}: not readable audio ({exc})") from None
    mono = audio.mean(axis=1)
    if not mono.size:  # nothing to hear: flagged as it is, not given to the recognizer
        return Verdict(backend.name, "", 1.0, None, ("empty: the recording has no samples",)), 0, rate
    return verify_audio(_backend if backend else None, mono, rate, recording.text, options), mono.size, rate


def _check_readable(recordings: list[Recording]) -> None:
    """Every recording opens as audio, checked from its header before any is heard."""
    for recording in recordings:
        try:
            sf.info(recording.audio)
        except (OSError, RuntimeError) as exc:  # soundfile's errors are RuntimeErrors
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise PocketBatchError(f"{recording.audio} ({recording.where}): not readable audio ({reason})") from None


def check_dataset(folder: Path, options: VerifyOptions, report: Path | None = None,
                  workers: int | None = None, keep: Keep = Keep()) -> DatasetCheck:
    """With `keep`, each result says whether it meets the filter (and why not), and `kept.csv` beside the report
    lists the recordings that do, as LJSpeech metadata (id|text)."""
    recordings = read_dataset(folder)
    _check_readable(recordings)
    backend = make_backend(options, [r.text for r in recordings]) if "words" in options.checks else None
    if backend:
        backend.check()
    report = report or folder / "verify.json"
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        heard = [_hear(r, options, backend) for r in recordings]
    else:
        with ProcessPoolExecutor(workers) as pool:
            heard = list(pool.map(_hear, recordings, [options] * len(recordings), [backend] * len(recordings),
                                  chunksize=4))
    takes = [Heard(r.speaker, len(words(r.text)), v) for r, (v, _, _) in zip(recordings, heard)]
    gates = Gates(options, takes)
    verdicts = [(r, gates.judge(take)) for r, take in zip(recordings, takes)]
    notes = gates.notes(backend.name if backend else options.backend)
    results = [{"id": r.id, "audio": str(r.audio.relative_to(folder)), "text": r.text, "speaker": r.speaker}
               | _verdict(v, rate) for (r, v), (_, _, rate) in zip(verdicts, heard)]
    if keep:
        for result, (_, samples, rate) in zip(results, heard):
            measured = result["scores"] | {"wer": result["wer"] if result["status"] != "unverified" else None,
                                           "duration": samples / rate if rate else 0.0}
            result["left_out"] = keep.reasons(measured)
            result["kept"] = not result["left_out"]
        with atomic_open(report.with_name("kept.csv")) as f:
            f.writelines(f"{r['id']}|{r['text']}\n" for r in results if r["kept"])
    kept = sum(r["kept"] for r in results) if keep else None
    write_json(report, {
        "dataset": str(folder), "verifier": verdicts_fingerprint(backend, options) if backend else "",
        "checks": list(options.checks), "notes": notes,
        "utterances": len(verdicts), "flagged": sum(not v.passed for _, v in verdicts),
        "unverified": sum(v.status == "unverified" for _, v in verdicts),
        "keep": str(keep) or None, "kept": kept,
        "results": results,
    })
    return DatasetCheck(report, verdicts, sum(samples / rate for _, samples, rate in heard if rate), notes, kept)


def _verdict(verdict: Verdict, rate: int) -> dict:
    return {
        "status": verdict.status, "passed": verdict.passed, "flags": list(verdict.flags),
        "advisory": list(verdict.advisory), "transcript": verdict.transcript, "wer": verdict.wer,
        "misfit": verdict.misfit, "scores": verdict.scores(),
        "words": [[w.word, round(w.start / rate, 3), round(w.end / rate, 3)] for w in verdict.words],  # seconds
    }
