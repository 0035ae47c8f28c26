"""How a take sounds: DNSMOS quality scores and cheap signal measures, each from the take alone.

DNSMOS P.835 (Microsoft's non-intrusive speech quality model: SIG the speech, BAK the background,
OVRL the whole, on the 1-5 opinion scale) is the ONNX file that ships in the `speechmos` wheel
(MIT), run here with onnxruntime on one thread; the package itself is not imported (it pulls
`requests` and three other models). As in DNSMOS's own scoring, a take shorter than the model's
9.01 s window is repeated to fill it; a longer one is scored in windows end to end (DNSMOS's own
script hops by 1 s: nine times the cost for the same average) and averaged.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from pocket_batch.core.files import package_file
from pocket_batch.core.records import Sound

RATE = 16_000
WINDOW = int(9.01 * RATE)
# DNSMOS's calibration of the raw network outputs to P.835 scores (its non-personalized polynomials).
_FIT = {"sig": (-0.08397278, 1.22083953, 0.0052439), "bak": (-0.13166888, 1.60915514, -0.39604546),
        "ovrl": (-0.06766283, 1.11546468, 0.04602535)}
FULL_SCALE = 0.999  # a sample at or past this is clipped
SILENCE_DB = 40.0  # 10 ms frames this far under the loudest are silence
_lock = threading.Lock()
_session = None


def model_path() -> Path:
    return package_file("speechmos", "dnsmos_models", "sig_bak_ovr.onnx", install="speechmos==0.0.1.1")


def session():
    global _session
    with _lock:
        if _session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1  # one core per worker, as synthesis
            _session = ort.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])
    return _session


def dnsmos(audio: np.ndarray, rate: int) -> dict[str, float]:
    """SIG, BAK and OVRL of float32 mono `audio`."""
    wav = resample_poly(audio, RATE, rate).astype(np.float32) if rate != RATE else audio.astype(np.float32)
    wav = np.clip(wav, -1.0, 1.0)
    if not wav.size or not np.any(wav):
        return {"sig": 1.0, "bak": 1.0, "ovrl": 1.0}
    if wav.size < WINDOW:  # repeated to fill the window, as DNSMOS scores a short clip
        wav = np.resize(wav, WINDOW)
    # A long take in windows end to end, the last one flush with its end.
    starts = sorted({*range(0, wav.size - WINDOW + 1, WINDOW), wav.size - WINDOW})
    windows = np.stack([wav[i: i + WINDOW] for i in starts])
    run = session()
    raw = np.stack([run.run(None, {"input_1": w[np.newaxis, :]})[0][0] for w in windows])
    scores = {name: float(np.mean(np.polyval(_FIT[name], raw[:, i]))) for i, name in enumerate(("sig", "bak", "ovrl"))}
    return {name: round(value, 3) for name, value in scores.items()}


def signal(audio: np.ndarray, rate: int) -> dict[str, float]:
    """The cheap measures of `Sound`, from 10 ms frames."""
    if not audio.size:
        return {"voiced_seconds": 0.0, "snr_db": 0.0, "clipped": 0.0, "longest_pause": 0.0, "end_db": -120.0}
    frame = rate // 100
    n = max(1, audio.size // frame)
    frames = np.resize(audio[: n * frame], (n, frame)).astype(np.float64)
    energy = np.mean(frames**2, axis=1) + 1e-12
    level = 10 * np.log10(energy)
    loud = np.flatnonzero(level > level.max() - SILENCE_DB)
    gaps = np.diff(loud) - 1 if loud.size > 1 else np.zeros(1)
    floor = np.percentile(energy, 10)
    measures = {
        "voiced_seconds": (loud.size / 100, 2),
        # the loud frames over the noise floor; a clean take's floor is its pauses, a noisy one's is its noise
        "snr_db": (10 * np.log10(np.percentile(energy, 95) / floor), 1),
        "clipped": (np.mean(np.abs(audio) >= FULL_SCALE), 5),
        "longest_pause": (gaps.max() / 100, 2),
        "end_db": (10 * np.log10(np.mean(energy[-2:]) / floor), 1),
    }
    # Rounded, and -0.0 made 0.0: numpy's sums differ in their last bits with the array's alignment, and the
    # same take must read the same in any process.
    return {name: round(float(value), digits) + 0.0 for name, (value, digits) in measures.items()}


def measure(audio: np.ndarray, rate: int, checks) -> Sound:
    """The take's Sound: the signal measures always, the embedding for the voice check, DNSMOS for mos (both
    models hear 16 kHz: the take is resampled once for them)."""
    embedding, mos = (), None
    if {"voice", "mos"} & set(checks) and audio.size:
        wav = resample_poly(audio, RATE, rate).astype(np.float32) if rate != RATE else audio
        if "voice" in checks:
            from pocket_batch.verify.speaker import embed

            embedding = tuple(round(float(x), 5) for x in embed(wav, RATE))
        if "mos" in checks:
            scores = dnsmos(wav, RATE)
            mos = (scores["sig"], scores["bak"], scores["ovrl"])
    return Sound(seconds=round(audio.size / rate, 3), embedding=embedding, mos=mos, **signal(audio, rate))
