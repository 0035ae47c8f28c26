"""Model-free QA of one utterance: pace, clipping, silence, and generation that never ended."""

from __future__ import annotations

import numpy as np

from pocket_batch.core.config import QAOptions
from pocket_batch.postproc.placement import TRIM_FRAME, trim_bounds

SILENCE_BELOW_PEAK_DB = 45.0


def qa_flags(x: np.ndarray, rate: int, tokens: int, max_length: bool, options: QAOptions) -> list[str]:
    """Every problem found; `failing` decides which of them reject the utterance."""
    flags = []
    seconds = x.size / rate
    pace = seconds / max(tokens, 1)
    if pace < options.min_seconds_per_token:
        flags.append(f"too fast: {pace:.3f} s per token")
    if pace > options.max_seconds_per_token:
        flags.append(f"too slow: {pace:.3f} s per token")
    clipped = int(np.count_nonzero(np.abs(x) >= options.clip_level))
    if clipped > options.max_clipped:
        flags.append(f"clipping: {clipped} samples")
    start, end = trim_bounds(x, SILENCE_BELOW_PEAK_DB)
    if start / rate > options.max_edge_silence:
        flags.append(f"leading silence: {start / rate:.2f} s")
    if (x.size - end) / rate > options.max_edge_silence:
        flags.append(f"trailing silence: {(x.size - end) / rate:.2f} s")
    if silence_ratio(x) > options.max_silence_ratio:
        flags.append(f"mostly silence: {silence_ratio(x):.0%}")
    if max_length:
        flags.append("max length reached without EOS")
    return flags


def failing(flags: list[str], options: QAOptions) -> list[str]:
    if options.max_length == "flag":
        return [f for f in flags if not f.startswith("max length")]
    return flags


def silence_ratio(x: np.ndarray) -> float:
    frames = x.size // TRIM_FRAME
    if frames == 0:
        return 1.0
    rms = np.sqrt(np.mean(np.square(x[: frames * TRIM_FRAME].reshape(frames, TRIM_FRAME), dtype=np.float64), axis=1))
    return float(np.mean(rms <= rms.max() * 10 ** (-SILENCE_BELOW_PEAK_DB / 20))) if rms.max() > 0 else 1.0
