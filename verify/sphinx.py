"""The default backend: pocketsphinx 5, whose wheel carries its US-English models (no download).

Free recognition listens with a language model of the run's own sentences (built here, per
run): it hears the book's words far better than the general model, and several times faster,
yet can still hear words dropped, repeated or out of order. A long run's sentences are cut, in
run order, into blocks of about BLOCK, each with its own model and dictionary, and a chunk is
heard with its block's: a whole book's vocabulary would slow every chunk down and hear robotic
speech worse. Down to about five sentences, the fewer a model holds the faster and better it hears
them, and it catches cut, repeated and wrong words as often (docs/design.md). When it hears
exactly the text, its word times are the alignment; otherwise the text is force-aligned, and
comparing the two decodes' acoustic scores frame by frame says how well the text fits the audio.
A word missing from the dictionary is given the pronunciation of the fewest dictionary words
that spell it ("windowsill" = "window" + "sill").
"""

from __future__ import annotations

import hashlib
import io
import math
import tempfile
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

import numpy as np

from pocket_batch.core.audio import resample
from pocket_batch.core.config import MAX_WER
from pocket_batch.verify.hearing import Hearing, Span
from pocket_batch.verify.words import word_error_rate

RATE = 16_000
FRAME = 0.01  # seconds per decoder frame
TINY = 1e-300  # a score that underflowed to 0 is scored as the smallest one a double can hold
# Lighter search than the decoder's defaults: about four times faster on chunk-sized audio, and as
# accurate with the run's own language model (measured in docs/design.md).
FAST_SEARCH = {"ds": 2, "topn": 2, "maxhmmpf": 2000}
# Alignment follows one path, so a wide beam costs little; the default one lost correct but robotic
# (espeak-ng) speech. A wrong text that aligns all the same is caught by its misfit.
ALIGN_SEARCH = {"beam": 1e-80, "pbeam": 1e-80, "wbeam": 1e-60}
BLOCK = 5  # sentences a language model holds, about


class SphinxBackend:
    name = "pocketsphinx"
    max_wer = MAX_WER[name]
    languages = ("en",)

    def __init__(self, sentences: tuple[str, ...] = ()):
        """`sentences`: the normalized words of every text the run will verify, one sentence a string, in run order."""
        self.sentences = sentences
        self._free = None  # free recognition, for one block at a time
        self._block: int | None = None  # the block whose model and dictionary `_free` holds
        self._general = None  # free recognition with the general model
        self._aligner = None  # forced alignment (it needs no language model)
        self._added: dict[str, str | None] = {}

    def __getstate__(self) -> dict:  # shipped to workers without its decoders; each loads its own
        return {"sentences": self.sentences, "_free": None, "_block": None, "_general": None, "_aligner": None,
                "_added": {}}

    def check(self) -> None:
        """Nothing to fetch: the models are inside the wheel."""

    @cached_property
    def fingerprint(self) -> str:
        text = "\n".join(self.sentences)
        settings = f"fresh front end {FAST_SEARCH} {ALIGN_SEARCH} run LM by {BLOCK} {_digest(text)}"
        return _digest(f"pocketsphinx {version('pocketsphinx')} {settings}")

    @cached_property
    def blocks(self) -> list[tuple[str, ...]]:
        return blocks(self.sentences, BLOCK)

    @cached_property
    def _block_of(self) -> dict[str, int]:
        return {sentence: n for n in reversed(range(len(self.blocks))) for sentence in self.blocks[n]}

    def decoder(self, text: list[str]):
        """Free recognition for this text: its block's language model; the general one for a text the
        run did not list (nothing listed: every text)."""
        from pocketsphinx import Decoder

        n = self._block_of.get(" ".join(text), -1)
        if n < 0:
            if self._general is None:
                self._general = Decoder(samprate=RATE, loglevel="FATAL", **FAST_SEARCH)
            return self._general
        if n != self._block:
            self._switch(n)
        return self._free

    def _switch(self, n: int) -> None:
        """Give the blocks' decoder block n's language model and dictionary. One decoder for every block:
        the acoustic model is loaded once (a decoder of its own took 6 MB a block) and a switch rebuilds
        only the search, about 4 ms, for the same hearing as a decoder built for the block."""
        from pocketsphinx import Decoder

        self._block, sentences = None, self.blocks[n]  # no block's until the switch is done
        # A dictionary of the model's words alone: with the full one (134,000 words) pocketsphinx
        # spends seconds building the search for a language model of a few hundred.
        vocabulary = sorted({w for s in sentences for w in s.split()})
        lines = [f"{word}{'' if k == 0 else f'({k + 1})'} {phones}"
                 for word in vocabulary for k, phones in enumerate(self._pronunciations(word))]
        with tempfile.TemporaryDirectory() as folder:
            arpa, words = Path(folder) / "block.arpa", Path(folder) / "block.dict"
            arpa.write_text(_language_model(sentences), encoding="utf-8")
            words.write_text("\n".join(lines) + "\n", encoding="utf-8")
            if self._free is None:
                self._free = Decoder(samprate=RATE, loglevel="FATAL", lm=str(arpa), dict=str(words), **FAST_SEARCH)
            else:
                previous = self._free.current_search()
                self._free.load_dict(str(words))
                self._free.add_lm_file(f"block {n}", str(arpa))
                self._free.activate_search(f"block {n}")
                self._free.remove_search(previous)
        self._block = n

    @property
    def aligner(self):
        if self._aligner is None:
            from pocketsphinx import Decoder

            self._aligner = Decoder(samprate=RATE, loglevel="FATAL", lm=None, **ALIGN_SEARCH)
        return self._aligner

    def hear(self, audio: np.ndarray, rate: int, text: list[str], max_wer: float) -> Hearing:
        pcm = _pcm16(audio, rate)
        free = self._decode(self.decoder(text), pcm)
        heard = [seg for seg in free if not _filler(seg.word)]
        transcript = [_word(seg.word) for seg in heard]
        if transcript == text:  # the free decode is the text's alignment, and fits as well as anything can
            spans = [Span(_word(s.word), round(s.start_frame * FRAME, 3), round((s.end_frame + 1) * FRAME, 3), 0.0)
                     for s in heard]
            return Hearing(transcript, spans, 0.0)
        if word_error_rate(text, transcript) > max_wer:  # failed already: nothing worth timing
            return Hearing(transcript, None, None)
        spelled = [w for w in text if self._spell(w)]
        spans = self._align(pcm, spelled, _frame_scores(free)) if spelled else None
        misfit = None
        if spans:
            speech = [s for s in spans if s.word]
            frames = sum(s.end - s.start for s in speech) / FRAME
            misfit = sum(s.misfit * (s.end - s.start) / FRAME for s in speech) / max(frames, 1)
        return Hearing(transcript, spans, misfit)

    @staticmethod
    def _decode(decoder, pcm: bytes, align: str | None = None) -> list:
        if align is not None:
            decoder.set_align_text(align)
        # The front end's noise and mean estimates carry over from one utterance to the next: reset, so
        # that a verdict never depends on which chunks a worker happened to hear before.
        decoder.reinit_feat()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        return list(decoder.seg()) if decoder.hyp() is not None else []

    def _align(self, pcm: bytes, text: list[str], free: np.ndarray) -> list[Span] | None:
        try:
            segments = self._decode(self.aligner, pcm, " ".join(text))
        except RuntimeError:
            return None
        spans = []
        for seg in segments:
            if seg.word in ("<s>", "</s>"):
                continue
            first, last = seg.start_frame, seg.end_frame + 1
            own = math.log(max(seg.ascore, TINY)) / (last - first)
            best = float(free[first:last].mean()) if first < last <= free.size else own
            word = "" if _filler(seg.word) else _word(seg.word)
            spans.append(Span(word, round(first * FRAME, 3), round(last * FRAME, 3), round(max(best - own, 0.0), 4)))
        return spans if any(s.word for s in spans) else None

    def _pronunciations(self, word: str) -> list[str]:
        """The dictionary's pronunciations of `word`, the first one first (read from the aligner's copy: one held
        in Python too would cost each worker 40 MB); else the one spelled from dictionary words, if any."""
        found = []
        while phones := self.aligner.lookup_word(f"{word}({len(found) + 1})" if found else word):
            found.append(phones)
        return found or [p for p in [self._compound(word)] if p]

    def _spell(self, word: str) -> bool:
        """Whether the word can be aligned: in the dictionary, or spelled from dictionary words."""
        if word not in self._added:
            phones = next(iter(self._pronunciations(word)), None)
            if phones and not self.aligner.lookup_word(word):  # spelled from dictionary words: the aligner learns it
                self.aligner.add_word(word, phones, True)
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
                phones = self.aligner.lookup_word(piece)
                if phones and (best[end] is None or len(best[start]) + 1 < len(best[end])):
                    best[end] = best[start] + [phones]
        return " ".join(best[-1]) if best[-1] else None


def blocks(sentences: tuple[str, ...], size: int) -> list[tuple[str, ...]]:
    """The sentences cut in order into runs of nearly equal length, as close to `size` as such runs get."""
    count = max(1, round(len(sentences) / size))
    edges = [len(sentences) * n // count for n in range(count + 1)]
    return [sentences[a:b] for a, b in zip(edges, edges[1:])]


def _language_model(sentences: tuple[str, ...]) -> str:
    """A trigram model (ARPA) of the sentences, by pocketsphinx's own builder."""
    from pocketsphinx.lm import ArpaBoLM

    lm = ArpaBoLM(text="\n".join(sentences) + "\n", add_start=True)
    lm.compute()
    out = io.StringIO()
    lm.write(out)
    return out.getvalue()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _pcm16(audio: np.ndarray, rate: int) -> bytes:
    audio = resample(audio, rate, RATE)
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
    return word.startswith(("<", "[", "+"))


def _word(word: str) -> str:
    return word.split("(")[0]  # "was(2)": the second pronunciation of "was"
