"""Voices: a preset name, a consented voice sample to clone, or an exported voice state.

Everything is checked in the driver before any synthesis, and a `Voice` carries
its payload (decoded audio or state bytes), so workers on other nodes need no
shared filesystem.
"""

from __future__ import annotations

import json
from datetime import date
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pocket_batch.core.audio import resample
from pocket_batch.core.config import (
    MAX_VOICE_SECONDS,
    MIN_VOICE_SECONDS,
    SAMPLE_RATE,
    SILENCE_DBFS,
    VOICE_AUDIO_SUFFIXES,
)
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import sha256_file, sha256_json
from pocket_batch.synth.fast.internals import preset_origins
from pocket_batch.synth.model.source import ModelSource

CONSENT_FIELDS = ("speaker", "statement", "date", "permitted_use")
CLONE_PROCESSING = "soundfile-mono-24k-30s-v1"  # bump when sample decoding changes


@dataclass(frozen=True)
class Voice:
    kind: str  # "preset" | "clone" | "state"
    name: str
    fingerprint: str
    audio: np.ndarray | None = field(default=None, repr=False, compare=False)  # clone: 24 kHz mono
    state: bytes | None = field(default=None, repr=False, compare=False)  # exported safetensors
    provenance: dict = field(default_factory=dict, compare=False)  # for the manifest


@dataclass
class Cast:
    """Who reads what: the narrator, and every other voice the book's chunks name (by its spec)."""

    narrator: Voice
    others: dict[str, Voice] = field(default_factory=dict)

    def of(self, chunk) -> Voice:
        return self.others[chunk.voice] if chunk.voice else self.narrator

    def add(self, chunks, model: ModelSource) -> None:
        """Resolve each voice the chunks name, with every check a narrator's voice has (consent for a clone)."""
        for spec in dict.fromkeys(c.voice for c in chunks if c.voice):
            if spec not in self.others:
                self.others[spec] = resolve_voice(spec, model)

    @property
    def voices(self) -> list[Voice]:
        return list({v.fingerprint: v for v in [self.narrator, *self.others.values()]}.values())


def preset_names() -> list[str]:
    return sorted(preset_origins())


def preset_origin(name: str) -> str:
    return preset_origins()[name]


def resolve_voice(spec: str, model: ModelSource, consent: Path | None = None) -> Voice:
    if "://" in spec:
        raise PocketBatchError(f"{spec}: voice references must be local files, not URLs")
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".safetensors" or path.suffix.lower() in VOICE_AUDIO_SUFFIXES or path.exists():
        if not path.is_file():
            raise PocketBatchError(f"{path}: voice file not found")
        if path.suffix.lower() == ".safetensors":
            return _state_voice(path)
        return clone_voice(path, consent)
    return _preset_voice(spec, model)


def _preset_voice(name: str, model: ModelSource) -> Voice:
    if name not in preset_names():
        raise PocketBatchError(
            f"unknown voice {name!r}: use a preset ({', '.join(preset_names())}), "
            "a voice sample (.wav/.flac/.mp3/.ogg) with consent, or a .safetensors voice state"
        )
    origin = {"preset": name, "origin": preset_origin(name)}
    if model.is_builtin:
        return Voice("preset", name, sha256_json(["preset", name])[:16], provenance=origin)
    # pocket-tts only resolves presets for its own configs; a local model keeps its own.
    state_file = model.voices_dir / f"{name}.safetensors"
    if not state_file.is_file():
        raise PocketBatchError(f"{state_file}: the model at {model.config_path.parent} has no preset {name!r}")
    voice = _state_voice(state_file)
    return Voice("preset", name, voice.fingerprint, state=voice.state, provenance=origin | {"state": str(state_file)})


def _state_voice(path: Path) -> Voice:
    data = path.read_bytes()
    import safetensors

    try:
        safetensors.deserialize(data)
    except Exception:  # noqa: BLE001 - safetensors raises several kinds for a damaged file
        raise PocketBatchError(f"{path}: not a readable safetensors voice state") from None
    fingerprint = sha256_file(path)
    return Voice("state", path.stem, fingerprint[:16], state=data, provenance={"state": str(path), "sha256": fingerprint})


def clone_voice(sample: Path, consent: Path | None = None) -> Voice:
    """A cloned voice, only with a consent record for the sample."""
    consent = consent or sample.with_suffix(".consent.json")
    if not consent.is_file():
        raise PocketBatchError(
            f"{sample}: no consent record for this voice sample; cloning a voice needs the "
            f"speaker's consent in {consent.name} beside it (or --consent FILE) with fields "
            f"{', '.join(CONSENT_FIELDS)}"
        )
    record = read_consent(consent)
    audio = load_voice_sample(sample)
    sample_hash, consent_hash = sha256_file(sample), sha256_file(consent)
    provenance = {"sample": str(sample), "sample_sha256": sample_hash, "consent": str(consent),
                  "consent_sha256": consent_hash, "speaker": record["speaker"],
                  "permitted_use": record["permitted_use"], "consent_date": record["date"]}
    fingerprint = sha256_json([sample_hash, CLONE_PROCESSING])[:16]
    return Voice("clone", sample.stem, fingerprint, audio=audio, provenance=provenance)


def read_consent(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PocketBatchError(f"{path}: consent record is not valid JSON ({exc})") from None
    if not isinstance(record, dict):
        raise PocketBatchError(f"{path}: consent record must be a JSON object")
    missing = [k for k in CONSENT_FIELDS if not str(record.get(k, "")).strip()]
    if missing:
        raise PocketBatchError(f"{path}: consent record lacks {', '.join(missing)}")
    try:
        date.fromisoformat(str(record["date"]).strip())
    except ValueError:
        raise PocketBatchError(f"{path}: consent date {record['date']!r} is not a date (YYYY-MM-DD)") from None
    return record


def load_voice_sample(path: Path) -> np.ndarray:
    """Decode any bit depth, downmix, resample to 24 kHz, keep at most 30 s; refuse bad samples."""
    import soundfile as sf

    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - soundfile and its codecs raise several kinds
        raise PocketBatchError(f"{path}: cannot decode voice sample ({str(exc).splitlines()[0]})") from None
    audio = audio.mean(axis=1)
    seconds = audio.size / rate
    if seconds < MIN_VOICE_SECONDS:
        raise PocketBatchError(f"{path}: voice sample is {seconds:.1f} s; at least {MIN_VOICE_SECONDS:.0f} s of speech is needed")
    audio = audio[: int(MAX_VOICE_SECONDS * rate)]
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if not np.isfinite(rms) or 20 * np.log10(rms + 1e-12) < SILENCE_DBFS:
        raise PocketBatchError(f"{path}: voice sample is silent")
    return np.ascontiguousarray(resample(audio, rate, SAMPLE_RATE), dtype=np.float32)
