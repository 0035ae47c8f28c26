"""Text file -> WAV + manifest on a real Ray pool; cache, determinism, consent and voice samples."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from pocket_batch.core.config import GenerationOptions, ModelOptions
from pocket_batch.core.cpu import Cpu
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.pipeline.run import render

from helpers.voices import write_consent, write_sample


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outputs(folder):
    """Every audio, subtitle and manifest file of a finished run (the cache, logs and run state aside)."""
    skip = {"cache", "logs", ".pocket-batch"}
    return sorted(p for p in folder.rglob("*") if p.is_file() and not skip & set(p.relative_to(folder).parts))


def test_text_to_audio_and_manifest_with_two_workers_then_rerun_is_free(notes, make_config, ray_cluster):
    config = make_config([notes], workers=2)
    result = render(config, show_progress=False)
    out = config.output
    manifest = json.loads((out / "manifest.json").read_text())
    [chapter] = manifest["chapters"]
    chunks = chapter["chunks"]

    assert (out / "notes.m4b").is_file() and (out / chapter["file"]).is_file()
    assert result.synthesized == len(chunks) >= 4
    assert [c["id"] for c in chunks] == [f"ch001-s{n:05d}" for n in range(1, len(chunks) + 1)]
    assert len({c["worker"] for c in chunks}) == 2  # both actors took work
    assert all(c["max_length"] for c in chunks)  # the random model never fires EOS: flagged
    assert manifest["max_length_chunks"] == [c["id"] for c in chunks]
    pauses = {"sentence": 0.3, "paragraph": 0.7, "section": 1.5}
    for a, b in zip(chunks, chunks[1:]):
        assert b["offset"] == a["offset"] + a["samples"] + round(pauses[a["boundary"]] * 24_000)
    assert manifest["model"]["fingerprint"] and manifest["voice"]["name"] == "alba"
    settled = config.on(Cpu.this()).model
    assert manifest["model"]["numerics"] == settled.numerics  # as settled on this CPU
    assert manifest["model"]["numerics"]["decoder_linears"] == ("int8" if not Cpu.this().int8_tiles else settled.decoder)

    before = {p: digest(p) for p in outputs(out)}
    again = render(config, show_progress=False)
    assert again.synthesized == 0
    assert {p: digest(p) for p in outputs(out)} == before


def test_workers_on_a_joined_cluster_run_with_two_malloc_heaps(small_model, ray_cluster):
    """glibc's per-thread heaps keep what one thread allocates and another frees: a worker has two."""
    from pocket_batch.synth.pool.ray_pool import RayExecutor
    from pocket_batch.synth.pool.worker import SynthWorker

    with RayExecutor(lambda: SynthWorker(ModelOptions(config=small_model, decoder="fp32", decoder_int8=False, seanet_int8=False), batch_size=2), 2) as executor:
        for name in executor.worker_names:
            environ = Path(f"/proc/{name.rsplit(':', 1)[1]}/environ").read_bytes().split(b"\0")
            assert b"MALLOC_ARENA_MAX=2" in environ, name


def test_same_seed_same_audio_in_process_and_with_one_or_two_workers(notes, make_config, ray_cluster, tmp_path):
    hashes = {}
    for workers in (0, 1, 2):
        config = make_config([notes], workers=workers, output=tmp_path / f"w{workers}")
        render(config, show_progress=False)
        hashes[workers] = (digest(config.output / "notes.m4b"), digest(next((config.output / "chapters").iterdir())))
    assert len(set(hashes.values())) == 1, hashes

    other = make_config([notes], output=tmp_path / "seed1", generation=GenerationOptions(seed=1))
    render(other, show_progress=False)
    assert digest(other.output / "notes.m4b") != hashes[0][0]


def test_clone_without_consent_is_refused_before_anything_is_written(notes, make_config, tmp_path):
    sample = write_sample(tmp_path / "speaker.wav", 4.0)
    config = make_config([notes], voice=str(sample))
    with pytest.raises(PocketBatchError, match="consent"):
        render(config, show_progress=False)
    assert not config.output.exists()


def test_24_bit_stereo_48k_sample_with_consent_is_cloned(make_config, tmp_path):
    text = tmp_path / "short.txt"
    letter = write_sample(tmp_path / "letter writer.wav", 3.0)
    letter_consent = write_consent(letter)
    text.write_text(f"Hello there.\n\n[voice: {letter}]A letter, in a clone of its own.[/voice]\n")
    sample = write_sample(tmp_path / "speaker.wav", 4.0, rate=48_000, channels=2, subtype="PCM_24")
    consent = write_consent(sample)
    config = make_config([text], voice=str(sample))
    render(config, show_progress=False)
    manifest = json.loads((config.output / "manifest.json").read_text())
    voice = manifest["voice"]
    assert voice["kind"] == "clone"
    assert voice["sample_sha256"] == digest(sample)
    assert voice["consent_sha256"] == digest(consent)
    # Item 19: a clone a voice mark names is recorded as the narrator's is, sample and consent by their SHA-256.
    other = manifest["voices"][str(letter)]
    assert other["kind"] == "clone" and other["sample_sha256"] == digest(letter)
    assert other["consent_sha256"] == digest(letter_consent) and other["speaker"] == "Test Speaker"


@pytest.mark.parametrize("seconds, amplitude, reason", [(0.5, 0.3, "at least"), (4.0, 0.0, "silent")])
def test_short_or_silent_samples_are_refused(make_config, notes, tmp_path, seconds, amplitude, reason):
    sample = write_sample(tmp_path / "speaker.wav", seconds, amplitude=amplitude)
    write_consent(sample)
    config = make_config([notes], voice=str(sample))
    with pytest.raises(PocketBatchError, match=reason):
        render(config, show_progress=False)
    assert not config.output.exists()


def test_corrupt_sample_and_url_are_refused(make_config, notes, tmp_path):
    sample = tmp_path / "speaker.wav"
    sample.write_bytes(b"RIFF\x00\x00not audio at all" * 10)
    write_consent(sample)
    with pytest.raises(PocketBatchError, match="cannot decode"):
        render(make_config([notes], voice=str(sample)), show_progress=False)
    with pytest.raises(PocketBatchError, match="local files"):
        render(make_config([notes], voice="https://example.invalid/v.wav"), show_progress=False)


def test_long_sample_is_truncated_to_30_seconds(tmp_path):
    from pocket_batch.synth.model.voices import load_voice_sample

    audio = load_voice_sample(write_sample(tmp_path / "long.flac", 40.0, rate=16_000, subtype="PCM_16"))
    assert audio.size == 30 * 24_000 and np.isfinite(audio).all()
