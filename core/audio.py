"""Small audio helpers every layer shares."""

from __future__ import annotations

import math
import struct

import numpy as np


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """`audio` at `target` Hz (polyphase filtering); the same array when the rates already agree."""
    if rate == target:
        return audio
    from scipy.signal import resample_poly  # imported on use: scipy.signal takes a second to import

    g = math.gcd(rate, target)
    return resample_poly(audio, target // g, rate // g)


def float_wav_header(samples: int, sample_rate: int) -> bytes:
    """The header of a mono 32-bit float WAV (format 3, with the `fact` chunk non-PCM WAVs carry)
    of `samples` samples: written before the samples' own bytes, no copy of the audio is made."""
    data = 4 * samples
    fmt = struct.pack("<HHIIHH", 3, 1, sample_rate, 4 * sample_rate, 4, 32)
    chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<II", 4, samples)
              + b"data" + struct.pack("<I", data))
    return b"RIFF" + struct.pack("<I", 4 + len(chunks) + data) + b"WAVE" + chunks
