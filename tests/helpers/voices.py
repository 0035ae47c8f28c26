"""Voice samples and consent records for cloning tests: a synthetic tone, never a person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def write_sample(path: Path, seconds: float, rate: int = 24_000, channels: int = 1,
                 subtype: str = "PCM_16", amplitude: float = 0.3) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    tone = amplitude * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    audio = np.stack([tone * (1 - 0.2 * c) for c in range(channels)], axis=1)
    sf.write(path, audio, rate, subtype=subtype)
    return path


def write_consent(sample: Path) -> Path:
    path = sample.with_suffix(".consent.json")
    path.write_text('{"speaker": "Test Speaker", "statement": "I consent to synthesis of my voice.",'
                    ' "date": "2026-11-25", "permitted_use": "tests"}')
    return path
