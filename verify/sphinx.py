"""The default backend: pocketsphinx 5, whose wheel carries its US-English models (no download).

Free recognition gives the transcript; forced alignment of the text gives each word's
time, and comparing the two decodes' acoustic scores frame by frame says how well the
text fits the audio. A word missing from the dictionary is given the pronunciation of
the fewest dictionary words that spell it ("windowsill" = "window" + "sill").
"""

from __future__ import annotations

import hashlib
import math
from functools import cached_property
from importlib.metadata import version

import numpy as np
from scipy.signal import resample_poly

from pocket_batch.verify.hearing import Hearing, Span

RATE = 16_000
FRAME = 0.01  # seconds per decoder frame
TINY = 1e-300  # a score that underflowed to 0 is scored as the smallest one a double can hold
# Lighter search than the decoder's defaults: about four times faster on chunk-sized audio; the
# transcript is only one of the signals, and alignment, which carries the decisions, is unaffected.
FAST_SEARCH = {"ds": 2, "topn": 2, "maxhmmpf": 2000}


class SphinxBackend:
    name = "pocketsphinx"
    max_wer = 0.95  # pocketsphinx mishears much correct speech: alignment decides, WER only past this
    languages = ("en",)

    def __init__(self) -> None:
        self._decoder = None
        self._added: dict[str, str | None] = {}

    @cached_property
    def fingerprint(self) -> str:
        settings = repr(sorted(FAST_SEARCH.items()))
        return hashlib.sha256(f"pocketsphinx {version('pocketsphinx')} {settings}".encode()).hexdigest()[:16]

    @property
    def decoder(self):
        if self._decoder is None:
            from pocketsphinx import Decoder

            self._decoder = Decoder(samprate=RATE, loglevel="FATAL", **FAST_SEARCH)
        return self._decoder

    def hear(self, audio: np.ndarray, rate: int, text: list[str]) -> Hearing:
        pcm = _pcm16(audio, rate)
        free = self._decode(pcm)
        transcript = [_word(seg.word) for seg in free if not _filler(seg.word)]
        frame_scores = _frame_scores(free)
        spelled = [w for w in text if self._spell(w)]
        spans = self._align(pcm, spelled, frame_scores) if spelled else None
        misfit = None
        if spans:
            speech = [s for s in spans if s.word]
            frames = sum(s.end - s.start for s in speech) / FRAME
            misfit = sum(s.misfit * (s.end - s.start) / FRAME for s in speech) / max(frames, 1)
        return Hearing(transcript, spans, misfit)

    def _decode(self, pcm: bytes, align: str | None = None) -> list:
        decoder = self.decoder
        if align is not None:
            decoder.set_align_text(align)
        else:
            decoder.activate_search("_default")
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        return list(decoder.seg()) if decoder.hyp() is not None else []

    def _align(self, pcm: bytes, text: list[str], free: np.ndarray) -> list[Span] | None:
        try:
            segments = self._decode(pcm, " ".join(text))
        except RuntimeError:
            return None
        spans = []
        for seg in segments:
            if seg.word in ("<s>", "</s>"):
                continue
            first, last = seg.start_frame, seg.end_frame + 1
            own = math.log(max(seg.ascore, TINY)) / (last - first)
            best = float(free[first:last].mean()) if last <= free.size and last > first else own
            word = "" if _filler(seg.word) else _word(seg.word)
            spans.append(Span(word, round(first * FRAME, 3), round(last * FRAME, 3), round(max(best - own, 0.0), 4)))
        return spans if any(s.word for s in spans) else None

    def _spell(self, word: str) -> bool:
        """Whether the word can be aligned: in the dictionary, or spelled from dictionary words."""
        if word not in self._added:
            phones = self.decoder.lookup_word(word) or self._compound(word)
            if phones and not self.decoder.lookup_word(word):
                self.decoder.add_word(word, phones, True)
            self._added[word] = phones
        return self._added[word] is not None

    def _compound(self, word: str) -> str | None:
        """The pronunciation of the fewest dictionary words that spell `word`, or None."""
        best: list[list[str] | None] = [[]] + [None] * len(word)
        for end in range(1, len(word) + 1):
            for start in range(end):
                piece = word[start:end]
                if best[start] is None or (len(piece) < 2 and piece not in ("a", "i")):
                    continue
                phones = self.decoder.lookup_word(piece)
                if phones and (best[end] is None or len(best[start]) + 1 < len(best[end])):
                    best[end] = best[start] + [phones]
        return " ".join(best[-1]) if best[-1] else None


def _pcm16(audio: np.ndarray, rate: int) -> bytes:
    if rate != RATE:
        g = math.gcd(RATE, rate)
        audio = resample_poly(audio, RATE // g, rate // g)
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _frame_scores(segments: list) -> np.ndarray:
    """Free recognition's acoustic log score of each frame (a segment's score spread evenly)."""
    last = max((seg.end_frame + 1 for seg in segments), default=0)
    scores = np.zeros(last)
    for seg in segments:
        n = seg.end_frame + 1 - seg.start_frame
        if n > 0:
            scores[seg.start_frame: seg.end_frame + 1] = math.log(max(seg.ascore, TINY)) / n
    return scores


def _filler(word: str) -> bool:
    return word.startswith(("<", "[", "+")) or word in ("<sil>",)


def _word(word: str) -> str:
    return word.split("(")[0]  # "was(2)": the second pronunciation of "was"
