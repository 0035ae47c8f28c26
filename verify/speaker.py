"""Who is speaking: a speaker embedding per take, by the GE2E encoder that ships in the `resemblyzer` wheel.

The encoder is resemblyzer's own network and weights (`pretrained.pt`, Apache-2.0), run here from
its state dict: importing the `resemblyzer` package would import `webrtcvad`, which needs
`pkg_resources` (gone from setuptools 81 on). Its voice-activity trimming is replaced by an energy
gate; everything else (16 kHz, 40 mel bands of power, 1.6 s partials at 1.3 a second, the mean of
their unit embeddings) is as resemblyzer computes it, so similarities read the same.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from pocket_batch.core.cpu import Cpu
from pocket_batch.core.files import package_file

RATE = 16_000
PARTIAL_FRAMES = 160  # 1.6 s of 10 ms frames per partial utterance
PARTIALS_PER_SECOND = 1.3
MIN_COVERAGE = 0.75
GATE_DB = 40.0  # 30 ms frames this far under the loudest are silence, left out of the embedding
_lock = threading.Lock()
_encoder = None


def weights_path() -> Path:
    """resemblyzer's encoder weights, found without importing the package (see the module's doc)."""
    return package_file("resemblyzer", "pretrained.pt", install="resemblyzer==0.1.4")


def _load():
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, 256)

        def forward(self, mels):
            _, (hidden, _) = self.lstm(mels)
            raw = torch.relu(self.linear(hidden[-1]))
            return raw / torch.norm(raw, dim=1, keepdim=True)

    encoder = Encoder()
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)["model_state"]
    encoder.load_state_dict({k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))})
    return encoder.eval()


def encoder():
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = _load()
    return _encoder


def voiced(audio: np.ndarray, rate: int = RATE) -> np.ndarray:
    """The audio without its silent 30 ms frames (pauses and edges), as resemblyzer's VAD would leave it."""
    frame = int(rate * 0.03)
    n = audio.size // frame
    if n == 0:
        return audio
    frames = audio[: n * frame].reshape(n, frame)
    level = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-10
    keep = 20 * np.log10(level / level.max()) > -GATE_DB
    return frames[keep].reshape(-1)


def _mel(audio: np.ndarray) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=RATE, n_fft=400, hop_length=160, n_mels=40)
    return mel.astype(np.float32).T


def _partials(samples: int) -> list[slice]:
    frames = int(np.ceil((samples + 1) / 160))
    step = int(round(RATE / PARTIALS_PER_SECOND / 160))
    slices = [slice(i, i + PARTIAL_FRAMES) for i in range(0, max(1, frames - PARTIAL_FRAMES + step + 1), step)]
    last = slices[-1]
    if len(slices) > 1 and (samples - last.start * 160) / (PARTIAL_FRAMES * 160) < MIN_COVERAGE:
        slices.pop()
    return slices


def embed(audio: np.ndarray, rate: int, bf16: bool | None = None) -> np.ndarray:
    """The speaker embedding of float32 mono `audio` (unit length, 256 values). `bf16`: the encoder's LSTM in
    bfloat16, twice as fast where the CPU computes it natively (the default there), within 0.001 of fp32's
    similarities on the test recordings (tests/verify/test_speaker.py); elsewhere it would be emulated."""
    import torch

    wav = resample_poly(audio, RATE, rate).astype(np.float32) if rate != RATE else audio.astype(np.float32)
    wav = voiced(wav)
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) if wav.size else 0.0
    if rms > 0 and rms < 10 ** (-30 / 20):  # resemblyzer raises quiet audio to -30 dBFS, never lowers it
        wav = wav * (10 ** (-30 / 20) / rms)
    slices = _partials(wav.size)
    wav = np.pad(wav, (0, max(0, slices[-1].stop * 160 - wav.size)))
    mel = _mel(wav)
    mels = np.stack([mel[s] for s in slices])
    fast = Cpu.this().native_bf16 if bf16 is None else bf16
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast):
        partial = encoder()(torch.from_numpy(mels)).float().numpy()
    mean = partial.mean(axis=0)
    return mean / np.linalg.norm(mean)


def similarity(a, b) -> float:
    """Cosine similarity of two unit embeddings."""
    return float(np.dot(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)))


def centroid(embeddings: list) -> np.ndarray:
    """The unit mean of embeddings."""
    mean = np.mean(np.asarray(embeddings, dtype=np.float64), axis=0)
    return mean / np.linalg.norm(mean)
