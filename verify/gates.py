"""The quality gates: each take judged against its own voice's takes, not only against fixed thresholds.

A take's verdict arrives measured on its own (its words heard, its `Sound`); what is normal for a
voice (how well the recognizer hears it, its speaker centroid, its noise floor, its pace) is learned
once from the first take of every chunk of that voice, so the same takes get the same judgement
whatever order they arrive in. Then:

- words: a voice whose first takes the recognizer mostly mishears (median word error rate past
  `unheard_wer`) is one it cannot hear: its word flags become advisory and its takes *unverified*;
- voice: similarity to the voice's reference (a cloned voice's sample, else the robust centroid of its
  takes) under `min_similarity`, or far under what its other takes reach;
- quality: noise (SNR, and DNSMOS when measured) far under the voice's others or under a floor,
  clipping, a long pause inside the take, an ending cut mid-sound;
- pace: seconds per word far from the voice's median.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from pocket_batch.core.config import VerifyOptions
from pocket_batch.core.records import Verdict, flag_kind

MIN_GROUP = 3  # takes of a voice needed before its own distribution says anything


@dataclass(frozen=True)
class Heard:
    """A take to judge: whose voice it is, how many words its text has, and what was measured on it."""

    voice: str
    words: int
    verdict: Verdict


def _median(values: Iterable[float]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _sigma(values: list[float]) -> float:
    """A robust standard deviation: 1.4826 times the median absolute deviation."""
    return 1.4826 * float(np.median(np.abs(np.asarray(values) - np.median(values)))) if values else 0.0


def robust_centroid(embeddings: list[np.ndarray]) -> np.ndarray:
    """The unit mean of the embeddings that are near it: a few takes in another voice do not move it."""
    rows = np.asarray(embeddings, dtype=np.float64)
    center = _unit(rows.mean(axis=0))
    for _ in range(2):
        sims = rows @ center
        keep = sims >= np.median(sims) - max(0.05, 3 * _sigma(list(sims)))
        center = _unit(rows[keep].mean(axis=0))
    return center


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) or 1.0)


@dataclass
class VoiceNorms:
    """What is normal for one voice, from its first takes."""

    takes: int
    unheard_wer: float | None = None  # set: the recognizer cannot hear this voice (its median word error rate)
    reference: np.ndarray | None = None  # what its takes should sound like
    centroid: np.ndarray | None = None
    similarity: float | None = None  # median similarity of its takes to the reference, and its spread
    similarity_sigma: float = 0.0
    snr: float | None = None
    pace: float | None = None
    mos: tuple[float, float] | None = None  # median DNSMOS BAK and OVRL


class Gates:
    """Judges takes against the norms of their voice, learned once from `first` (the first takes)."""

    def __init__(self, options: VerifyOptions, first: list[Heard], references: dict[str, np.ndarray] | None = None):
        self.options = options
        groups: dict[str, list[Heard]] = defaultdict(list)
        for heard in first:
            groups[heard.voice].append(heard)
        self.norms = {voice: self._norms(takes, (references or {}).get(voice)) for voice, takes in groups.items()}

    def _norms(self, takes: list[Heard], reference: np.ndarray | None) -> VoiceNorms:
        o = self.options
        norms = VoiceNorms(len(takes))
        heard = [t.verdict.wer for t in takes if t.verdict.words_checked and t.words]
        if "words" in o.checks and len(heard) >= o.unheard_min_takes and float(np.median(heard)) > o.unheard_wer:
            norms.unheard_wer = float(np.median(heard))
        sounds = [t.verdict.sound for t in takes if t.verdict.sound is not None]
        judged = [s for s in sounds if s.embedding and s.voiced_seconds >= o.voice_min_seconds]
        if len(judged) >= MIN_GROUP:
            norms.centroid = robust_centroid([np.asarray(s.embedding) for s in judged])
        norms.reference = reference if reference is not None else norms.centroid
        if norms.reference is not None and judged:
            sims = [float(np.dot(s.embedding, norms.reference)) for s in judged]
            norms.similarity, norms.similarity_sigma = float(np.median(sims)), _sigma(sims)
        if len(sounds) >= MIN_GROUP:
            norms.snr = _median(s.snr_db for s in sounds)
            paced = [t.verdict.sound.voiced_seconds / t.words for t in takes
                     if t.verdict.sound is not None and t.words >= o.pace_min_words]
            norms.pace = _median(paced) if len(paced) >= MIN_GROUP else None
            mos = [s.mos for s in sounds if s.mos]
            norms.mos = (_median(m[1] for m in mos), _median(m[2] for m in mos)) if len(mos) >= MIN_GROUP else None
        return norms

    def notes(self, backend: str) -> list[str]:
        """One line per voice the recognizer cannot hear, with the evidence."""
        hint = "; --verify-backend whisper may hear it" if backend == "pocketsphinx" else ""
        return [f"{backend} cannot hear voice {voice} reliably: median word error rate {n.unheard_wer:.2f} over its "
                f"{n.takes} takes; verification of its words is advisory{hint}"
                for voice, n in self.norms.items() if n.unheard_wer is not None]

    def judge(self, heard: Heard) -> Verdict:
        """The take's verdict with its similarity, pace and every gate's flags."""
        o, verdict = self.options, heard.verdict
        norms = self.norms.get(heard.voice) or VoiceNorms(0)
        words_flags = [f for f in verdict.flags if flag_kind(f) == "words"]
        flags, advisory, words_checked = list(words_flags), (), verdict.words_checked
        if norms.unheard_wer is not None:
            flags, advisory, words_checked = [], tuple(words_flags), False
        sound = verdict.sound
        if sound is None:
            return replace(verdict, flags=tuple(flags), advisory=advisory, words_checked=words_checked)
        similarity = drift = pace = None
        if sound.embedding and norms.reference is not None:
            similarity = round(float(np.dot(sound.embedding, norms.reference)), 4)
            drift = round(float(np.dot(sound.embedding, norms.centroid)), 4) if norms.centroid is not None else None
        if heard.words:
            pace = round(sound.voiced_seconds / heard.words, 3)
        if "voice" in o.checks and similarity is not None and sound.voiced_seconds >= o.voice_min_seconds:
            flags += self._voice(similarity, norms)
        if "quality" in o.checks:
            flags += self._quality(sound, norms)
            if pace is not None and norms.pace and heard.words >= o.pace_min_words:
                ratio = pace / norms.pace
                if ratio > o.pace_ratio or ratio < 1 / o.pace_ratio:
                    flags.append(f"pace: {pace:.2f} s a word, its voice's median {norms.pace:.2f}")
        if "mos" in o.checks and sound.mos:
            flags += self._mos(sound.mos, norms)
        return replace(verdict, flags=tuple(dict.fromkeys(flags)), advisory=advisory, words_checked=words_checked,
                       similarity=similarity, drift=drift, pace=pace)

    def _voice(self, similarity: float, norms: VoiceNorms) -> list[str]:
        o = self.options
        if similarity < o.min_similarity:
            return [f"voice: similarity {similarity:.2f} to its reference, under {o.min_similarity:.2f}"]
        if norms.similarity is not None and norms.takes >= MIN_GROUP:
            floor = norms.similarity - max(o.similarity_margin, 4 * norms.similarity_sigma)
            if similarity < floor:
                return [f"voice: similarity {similarity:.2f} to its reference, its voice's takes {norms.similarity:.2f}"]
        return []

    def _quality(self, sound, norms: VoiceNorms) -> list[str]:
        o, flags = self.options, []
        noisy = sound.snr_db < o.min_snr_db or (norms.snr is not None and sound.snr_db < norms.snr - o.snr_margin_db)
        if noisy:
            median = f", its voice's median {norms.snr:.0f} dB" if norms.snr is not None else ""
            flags.append(f"quality: noise (signal {sound.snr_db:.0f} dB over its floor{median})")
        if sound.clipped > o.max_clipped:
            flags.append(f"quality: clipped ({sound.clipped:.2%} of samples at full scale)")
        if sound.longest_pause > o.max_pause:
            flags.append(f"quality: a pause of {sound.longest_pause:.1f} s inside the take")
        if sound.end_db > o.max_end_db:
            flags.append(f"quality: ends mid-sound (its last 20 ms {sound.end_db:.0f} dB over its noise floor)")
        return flags

    def _mos(self, mos: tuple[float, float, float], norms: VoiceNorms) -> list[str]:
        o, flags = self.options, []
        for name, value, median in (("BAK", mos[1], norms.mos[0] if norms.mos else None),
                                    ("OVRL", mos[2], norms.mos[1] if norms.mos else None)):
            if value < o.min_mos or (median is not None and value < median - o.mos_margin):
                against = f", its voice's median {median:.2f}" if median is not None else ""
                flags.append(f"quality: DNSMOS {name} {value:.2f}{against}")
        return flags


def rank(verdict: Verdict) -> tuple:
    """How a take ranks among a chunk's takes, best first: words, then voice, then quality and pace."""
    return (verdict.count("words"), verdict.count("voice"), verdict.count("quality") + verdict.count("pace"),
            verdict.wer if verdict.words_checked else 0.0, -(verdict.similarity or 0.0))
