"""Writing a corpus: evened 16-bit WAVs and the metadata layouts training tools read.

    corpus/wavs/<voice>/<id>.wav
    corpus/metadata.csv               LJSpeech: <voice>/<id>|text|normalized, no header, no quoting
    corpus/splits/{train,validation,test}.csv   the same, per split
    corpus/audiofolder/<split>/       Hugging Face audiofolder, one folder per split (hard links to the WAVs):
                                      load_dataset("audiofolder", data_dir="corpus/audiofolder")
    corpus/manifest.jsonl             everything about each utterance
    corpus/report.json, README.md     QA failures; the dataset card

The audiofolder lives in a folder of its own, not beside metadata.csv: the audiofolder
loader reads any metadata.csv in its folder, and LJSpeech's has no header; and its split
folders are what `datasets` reads as splits (a column would give one `train` split).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from pocket_batch.ingest.csvfile import Utterance
from pocket_batch.core.audio import resample
from pocket_batch.core.config import SAMPLE_RATE, SYNTHETIC, CorpusConfig
from pocket_batch.core.files import atomic_open, atomic_path, link_file, sha256_file, write_json
from pocket_batch.core.records import Chunk, ChunkAudio
from pocket_batch.postproc.report import write_corpus_report
from pocket_batch.postproc.loudness import chunk_level, db_to_gain, limit
from pocket_batch.postproc.placement import trim_bounds
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Voice

SPLITS = ("train", "validation", "test")
MAX_GAIN_DB = 20.0


@dataclass(frozen=True)
class Entry:
    row: Utterance
    voice: Voice
    chunk: Chunk
    key: str
    audio: ChunkAudio
    flags: list[str]
    scores: dict = field(default_factory=dict)  # the quality gates' status, wer, similarity, pace, snr_db, ...

    @property
    def file(self) -> str:  # relative to wavs/
        return f"{self.voice.name}/{self.row.id}.wav"


def split_point(text: str, config: CorpusConfig) -> float:
    """Where a text falls in [0, 1), by a hash: stable as rows are appended, the same for every voice."""
    digest = hashlib.sha256(f"{config.split_seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(texts: list[str], config: CorpusConfig) -> dict[str, str]:
    """Text -> split, by its point against the ratios. A split with a share that no text falls into (20 prompts
    and a 5% test split) takes the text whose point lies nearest its range, from the largest split, so each split
    the card names has a row once there are as many distinct texts as splits."""
    bounds = np.cumsum(config.splits)
    points = {text: split_point(text, config) for text in dict.fromkeys(texts)}
    chosen = {text: SPLITS[min(int(np.searchsorted(bounds, point, side="right")), 2)] for text, point in points.items()}
    for n, split in enumerate(SPLITS):
        members = {s: [t for t, c in chosen.items() if c == s] for s in SPLITS}
        if members[split] or not config.splits[n] or len(points) < len(SPLITS):
            continue
        donor = max(SPLITS, key=lambda s: len(members[s]))
        low, high = (bounds[n - 1] if n else 0.0), bounds[n]
        nearest = min(members[donor], key=lambda t: max(low - points[t], points[t] - high, 0.0))
        chosen[nearest] = split
    return chosen


def write_wav(target: Path, x: np.ndarray, config: CorpusConfig) -> int:
    """Trimmed, evened to the target loudness under the ceiling, resampled; returns samples written."""
    start, end = trim_bounds(x, 45.0)
    x = x[start:end]
    level = chunk_level(x, SAMPLE_RATE, "lufs")
    gain = float(np.clip(config.target_lufs - level, -MAX_GAIN_DB, MAX_GAIN_DB)) if np.isfinite(level) else 0.0
    x = limit((x * db_to_gain(gain)).astype(np.float32), config.ceiling, SAMPLE_RATE)
    x = np.clip(resample(x, SAMPLE_RATE, config.sample_rate), -1.0, 1.0)
    with atomic_path(target) as tmp:
        sf.write(tmp, x, config.sample_rate, subtype="PCM_16", format="WAV")
    return int(x.size)


def write_dataset(config: CorpusConfig, source: ModelSource, voices: dict[str, Voice], entries: list[Entry],
                  failures: list[dict], cache: AudioCache) -> None:
    out, wavs = config.output, config.output / "wavs"
    splits = assign_splits([e.chunk.normalized for e in entries], config)
    before = _written(out / "manifest.jsonl", wavs, {e.file for e in entries}, config)
    rows = []
    for e in entries:
        if (kept := before.get(e.file)) and kept["key"] == e.key:  # this take, evened so, is there: left as it is
            samples, digest = kept["samples"], kept["sha256"]
        else:
            samples = write_wav(wavs / e.file, cache.read(e.key), config)
            digest = sha256_file(wavs / e.file)
        rows.append({"id": e.row.id, "voice": e.voice.name, "file_name": e.file, "text": e.row.text,
                     "normalized": e.chunk.normalized, "split": splits[e.chunk.normalized],
                     "samples": samples, "sample_rate": config.sample_rate,
                     "duration": round(samples / config.sample_rate, 3), "key": e.key,
                     "seed": int(e.key[:12], 16), "model": source.fingerprint, "qa_flags": e.flags,
                     "evened": _evened(config), "sha256": digest} | e.scores)
    kept = {wavs / r["file_name"] for r in rows}
    for stale in wavs.glob("*/*.wav"):  # a take that no longer passes is not left for loaders to find
        if stale not in kept:
            stale.unlink()
    _write_ljspeech(out / "metadata.csv", rows)
    for split in SPLITS:
        _write_ljspeech(out / "splits" / f"{split}.csv", [r for r in rows if r["split"] == split])
    _write_audiofolder(out / "audiofolder", wavs, rows)
    _write_jsonl(out / "manifest.jsonl", rows)
    write_json(out / "report.json", {"kept": len(rows), "failed": len(failures), "failures": failures})
    write_corpus_report(out / "report.html", f"Corpus from {config.csv.name}", rows, failures, cache)
    _write_card(out / "README.md", config, source, voices, rows, failures)


def _evened(config: CorpusConfig) -> list:
    """What a dataset WAV is made with beyond its take: the same take evened otherwise is another file."""
    return [config.target_lufs, config.ceiling, config.sample_rate]


def _written(manifest: Path, wavs: Path, files: set[str], config: CorpusConfig) -> dict[str, dict]:
    """file_name -> row, for the WAVs among `files` (this run's: never a path the manifest names) that an earlier
    run wrote and that are still as it wrote them, with these settings: appending rows writes only the new ones."""
    try:
        rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError):
        return {}
    return {row["file_name"]: row for row in rows
            if isinstance(row, dict) and row.get("file_name") in files and row.get("evened") == _evened(config)
            and isinstance(row.get("samples"), int) and (wavs / row["file_name"]).is_file() and sha256_file(wavs / row["file_name"]) == row.get("sha256")}


def _write_audiofolder(folder: Path, wavs: Path, rows: list[dict]) -> None:
    """audiofolder/<split>/<voice>/<id>.wav, hard links to the WAVs (no second copy), and each split's metadata."""
    for split in SPLITS:
        chosen = [r for r in rows if r["split"] == split]
        target = folder / split
        wanted = {target / r["file_name"] for r in chosen}
        for stale in (p for p in target.glob("*/*.wav") if p not in wanted):
            stale.unlink()
        for r in chosen:
            link_file(wavs / r["file_name"], target / r["file_name"])
        if chosen:
            _write_jsonl(target / "metadata.jsonl", [{"file_name": r["file_name"], "transcription": r["normalized"],
                                                     "text": r["text"], "speaker": r["voice"]}
                                                    | {c: r[c] for c in SCORE_COLUMNS if c in r} for r in chosen])
        else:  # a split without rows has no folder: the loader would refuse an empty one
            (target / "metadata.jsonl").unlink(missing_ok=True)
            for empty in sorted(target.glob("**/*"), reverse=True) + ([target] if target.is_dir() else []):
                if empty.is_dir() and not any(empty.iterdir()):
                    empty.rmdir()


# The quality gates' scores a trainer filters on, as audiofolder columns (manifest.jsonl has them all).
SCORE_COLUMNS = ("status", "wer", "similarity", "pace", "snr_db", "mos_sig", "mos_bak", "mos_ovrl")


def _write_ljspeech(path: Path, rows: list[dict]) -> None:
    with atomic_open(path) as f:
        for r in rows:
            fields = [r["file_name"].removesuffix(".wav"), r["text"], r["normalized"]]
            f.write("|".join(" ".join(x.replace("|", " ").split()) for x in fields) + "\n")


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with atomic_open(path) as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _write_card(path: Path, config: CorpusConfig, source: ModelSource, voices: dict[str, Voice],
                rows: list[dict], failures: list[dict]) -> None:
    hours = sum(r["duration"] for r in rows) / 3600
    numerics = config.model.numerics
    lines = [
        "# Synthetic speech corpus", "",
        f"**{SYNTHETIC}** Every recording here is machine-generated; none is a human recording.", "",
        f"- Source: `{config.csv.name}` (sha256 `{sha256_file(config.csv)}`)",
        f"- Model: `{source.config_path}` (fingerprint `{source.fingerprint}`), backbone {numerics['backbone']}, "
        f"decoder {numerics['decoder']} (linear layers {numerics['decoder_linears']})",
        f"- Utterances: {len(rows)} ({hours:.3f} h) at {config.sample_rate} Hz, 16-bit mono, "
        f"evened to {config.target_lufs} LUFS under {config.ceiling} dBTP",
        "- Splits: " + ", ".join(f"{s} {sum(r['split'] == s for r in rows)}" for s in SPLITS),
        f"- Left out after QA and {config.qa.retries} regeneration(s): {len(failures)} (see report.json)", "",
        "## Voices", "",
    ]
    for name, voice in voices.items():
        count = sum(r["voice"] == name for r in rows)
        if voice.kind == "clone":
            origin = (f"cloned from `{voice.provenance['sample']}` with the consent of {voice.provenance['speaker']} "
                      f"(permitted use: {voice.provenance['permitted_use']}; consent record sha256 "
                      f"`{voice.provenance['consent_sha256']}`)")
        else:
            origin = f"Pocket TTS preset ({voice.provenance.get('origin', voice.name)}); see the Pocket TTS voices' licences"
        lines.append(f"- **{name}**: {count} utterances; {origin}")
    lines += ["", "## Layouts", "",
              "- LJSpeech: `metadata.csv` (`voice/id|text|normalized`), audio in `wavs/`; per split in `splits/`.",
              "- Hugging Face: `load_dataset(\"audiofolder\", data_dir=\"audiofolder\")`: splits `train`, `validation`, "
              "`test`; columns `audio`, `transcription`, `text`, `speaker`.",
              "- `manifest.jsonl`: duration, voice, seed, cache key, model fingerprint and QA flags per utterance, with the "
              "quality gates' scores: `status` (passed, or unverified where the recognizer cannot hear the voice), "
              "`wer`, `similarity` to the voice's centroid, `pace` (voiced seconds a word), `snr_db`, `clipped`, "
              "`longest_pause`, `end_db` (and `mos_*` with the mos check). The audiofolder metadata carries "
              "status, wer, similarity, pace and snr_db as columns to filter on.", ""]
    with atomic_open(path) as f:
        f.write("\n".join(lines))
