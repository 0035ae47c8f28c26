"""The chunk cache never hands out audio that is not what it stored."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pocket_batch.core.files import sha256_file
from pocket_batch.synth.model.cache import AudioCache, NonFiniteAudio, wav_sha256

KEY = "ab" + "0" * 30


def stored(tmp_path) -> tuple[AudioCache, np.ndarray]:
    cache = AudioCache(tmp_path)
    audio = np.sin(np.arange(24_000, dtype=np.float32) / 10) * 0.5
    cache.put(KEY, audio, 24_000, max_length=False, worker="w", wall_seconds=0.1)
    return AudioCache(tmp_path), audio  # a new run: nothing verified yet


def test_a_stored_entry_reads_back_whole(tmp_path):
    cache, audio = stored(tmp_path)
    entry = cache.get(KEY)
    assert entry.samples == audio.size and len(entry.sha256) == 64
    assert np.array_equal(cache.read(KEY), audio)


def test_a_digest_taken_by_the_worker_is_the_stored_wavs_own(tmp_path):
    audio = (np.cos(np.arange(30_000, dtype=np.float64) / 7) * 0.3)  # float64: stored as float32, hashed so
    digest = wav_sha256(audio, 24_000)
    AudioCache(tmp_path).put(KEY, audio, 24_000, sha256=digest, max_length=False, worker="w", wall_seconds=0.1)
    cache = AudioCache(tmp_path)  # a new run checks the WAV against the record
    assert cache.get(KEY).sha256 == digest == sha256_file(cache.wav_path(KEY))
    AudioCache(tmp_path / "here").put(KEY, audio, 24_000, max_length=False, worker="w", wall_seconds=0.1)
    assert AudioCache(tmp_path / "here").get(KEY).sha256 == digest  # the same digest when the cache takes it


@pytest.mark.parametrize("damage", ["truncate", "flip", "nan", "nan with its own hash", "soundfile's nan with its own hash",
                                    "no wav", "bad record"])
def test_a_damaged_entry_is_removed_so_it_is_made_again(tmp_path, damage, caplog):
    cache, _ = stored(tmp_path)
    wav, record = cache.wav_path(KEY), cache.wav_path(KEY).with_suffix(".json")
    data = bytearray(wav.read_bytes())
    if damage == "truncate":
        wav.write_bytes(data[:1000])
    elif damage == "flip":
        data[5000:5004] = bytes(b ^ 0xFF for b in data[5000:5004])
        wav.write_bytes(data)
    elif damage == "nan":
        data[-400:-396] = np.array([np.nan], dtype="<f4").tobytes()
        wav.write_bytes(data)
    elif damage.startswith("nan with") or damage.startswith("soundfile's"):  # item 15: a hash proves agreement only
        audio = np.full(24_000, np.nan, np.float32)
        if damage.startswith("soundfile's"):
            import soundfile as sf

            sf.write(wav, audio, 24_000, subtype="FLOAT")
        else:
            data[-400:-396] = np.array([np.nan], dtype="<f4").tobytes()
            wav.write_bytes(data)
        record.write_text(json.dumps(json.loads(record.read_text()) | {"sha256": sha256_file(wav)}))
    elif damage == "no wav":
        wav.unlink()
    else:
        record.write_text("{not json")
    assert cache.get(KEY) is None
    assert not wav.exists() and not record.exists()
    assert "removed, it will be synthesized again" in caplog.text


def test_a_record_written_before_hashes_is_checked_by_decoding_then_hashed(tmp_path):
    cache, audio = stored(tmp_path)
    record = cache.wav_path(KEY).with_suffix(".json")
    old = json.loads(record.read_text())
    old.pop("sha256")
    record.write_text(json.dumps(old))
    assert AudioCache(tmp_path).get(KEY).sha256 == json.loads(record.read_text())["sha256"] != ""
    old["samples"] = audio.size + 5  # a record that disagrees with its audio
    record.write_text(json.dumps(old))
    assert AudioCache(tmp_path).get(KEY) is None


def test_non_finite_audio_is_never_stored(tmp_path):
    cache = AudioCache(tmp_path)
    with pytest.raises(NonFiniteAudio, match="1 samples are NaN or infinite"):
        cache.put(KEY, np.array([0.0, np.inf, 0.1], np.float32), 24_000, max_length=False, worker="w", wall_seconds=0.0)
    assert cache.get(KEY) is None and not cache.wav_path(KEY).exists()
