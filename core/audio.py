"""Small audio helpers every layer shares."""

from __future__ import annotations

import math

import numpy as np


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """`audio` at `target` Hz (polyphase filtering); the same array when the rates already agree."""
    if rate == target:
        return audio
    from scipy.signal import resample_poly  # imported on use: scipy.signal takes a second to import

    g = math.gcd(rate, target)
    return resample_poly(audio, target // g, rate // g)
