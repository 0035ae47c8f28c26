"""Loudness (ITU-R BS.1770 via pyloudnorm's K-weighting), RMS, true peak and a true-peak limiter.

The meter is fed block by block, so a chapter is measured while it streams and
never sits whole in memory.
"""

from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, lfilter

FLOOR_DB = -70.0  # the level curve's floor: the BS.1770 absolute gate
OVERSAMPLE = 4  # BS.1770 true peak: 4x oversampling at 24-48 kHz
LIMITER_WINDOW_S = 0.005
LIMITER_SLACK_DB = 0.2  # the 48-tap estimate and the smoothing may each miss a tenth of a dB
INTERSAMPLE_HEADROOM_DB = 6.0  # inter-sample peaks of real audio stay within ~3 dB of its samples  # smoothing lets a peak between samples creep up by a few hundredths


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


class LoudnessMeter:
    """Integrated loudness (gated, 400 ms blocks, 75% overlap), RMS and sample peak of a stream."""

    def __init__(self, rate: int):
        self.rate = rate
        self.filters = [(f.b, f.a) for f in pyloudnorm.Meter(rate)._filters.values()]
        self.state = [np.zeros(max(len(a), len(b)) - 1) for b, a in self.filters]
        self.hop = int(0.1 * rate)
        self.partial = np.zeros((2, 0))
        self.hops: list[float] = []  # mean square of each 100 ms of K-weighted audio
        self.plain_hops: list[float] = []  # and of the audio itself, for RMS over time
        self.sum_squares = 0.0
        self.samples = 0

    def feed(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        self.sum_squares += float(np.dot(x, x))
        self.samples += x.size
        y = x
        for n, (b, a) in enumerate(self.filters):
            y, self.state[n] = lfilter(b, a, y, zi=self.state[n])
        squares = np.concatenate([self.partial, np.stack([y * y, x * x])], axis=1) if self.partial.size else \
            np.stack([y * y, x * x])
        whole = squares.shape[1] // self.hop * self.hop
        means = squares[:, :whole].reshape(2, -1, self.hop).mean(axis=2)
        self.hops += list(means[0])
        self.plain_hops += list(means[1])
        self.partial = squares[:, whole:]

    def lufs(self) -> float:
        hops = np.asarray(self.hops)
        if hops.size < 4:
            return float("-inf")
        blocks = (hops[:-3] + hops[1:-2] + hops[2:-1] + hops[3:]) / 4
        level = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-20))
        blocks = blocks[level > -70.0]
        if blocks.size == 0:
            return float("-inf")
        relative = -0.691 + 10 * np.log10(blocks.mean()) - 10.0
        level = -0.691 + 10 * np.log10(blocks)
        return float(-0.691 + 10 * np.log10(blocks[level > relative].mean()))

    def rms_db(self) -> float:
        return 10 * np.log10(self.sum_squares / self.samples) if self.samples and self.sum_squares else float("-inf")

    def level(self, measure: str) -> float:
        return self.lufs() if measure == "lufs" else self.rms_db()

    def curve(self, measure: str, window_s: float = 3.0) -> list[float]:
        """The level over time, one value a second, each over the `window_s` before it: EBU R128's
        short-term loudness (LUFS), or RMS in dBFS; silence reads as FLOOR_DB."""
        hops = np.asarray(self.hops if measure == "lufs" else self.plain_hops)
        width, step = round(window_s * 10), 10
        if hops.size < width:
            return []
        sums = np.convolve(hops, np.ones(width), mode="valid")[::step] / width
        level = (-0.691 if measure == "lufs" else 0.0) + 10 * np.log10(np.maximum(sums, 1e-20))
        return [round(float(v), 1) for v in np.maximum(level, FLOOR_DB)]


def chunk_level(x: np.ndarray, rate: int, measure: str) -> float:
    meter = LoudnessMeter(rate)
    meter.feed(x)
    return meter.level(measure)


# A 48-tap interpolator split into 4 phases of 12 taps, as BS.1770-4 Annex 2 describes.
_PHASES = (firwin(48, 1.0 / OVERSAMPLE) * OVERSAMPLE).reshape(-1, OVERSAMPLE).T


def true_peak_envelope(x: np.ndarray) -> np.ndarray:
    """Per sample, the largest magnitude among the 4 oversampled points around it."""
    x = np.asarray(x, dtype=np.float32)
    envelope = np.abs(x)
    for phase in _PHASES:
        np.maximum(envelope, np.abs(np.convolve(x, phase.astype(np.float32), mode="same")), out=envelope)
    return envelope


def true_peak_db(x: np.ndarray) -> float:
    peak = float(true_peak_envelope(x).max()) if x.size else 0.0
    return 20 * np.log10(peak) if peak else float("-inf")


def sample_peak_db(x: np.ndarray) -> float:
    peak = float(np.abs(x).max()) if x.size else 0.0
    return 20 * np.log10(peak) if peak else float("-inf")


def limit(x: np.ndarray, ceiling_db: float, rate: int) -> np.ndarray:
    """Smooth gain reduction keeping the true peak under the ceiling; audio under it is untouched.

    A minimum filter spreads each reduction over the window around its peak, and a
    moving average of the same width smooths it without rising above the needed
    reduction anywhere (every averaged value already covers that sample).
    """
    if x.size == 0 or sample_peak_db(x) < ceiling_db - INTERSAMPLE_HEADROOM_DB:
        return x  # no peak between samples rises this far over the samples themselves
    ceiling = db_to_gain(ceiling_db - LIMITER_SLACK_DB)
    gain = np.minimum(1.0, ceiling / np.maximum(true_peak_envelope(x), 1e-12))
    if gain.min() >= 1.0:
        return x
    width = 2 * int(LIMITER_WINDOW_S * rate) + 1
    gain = uniform_filter1d(minimum_filter1d(gain, size=width, mode="nearest"), size=width, mode="nearest")
    return (x * gain).astype(np.float32)
