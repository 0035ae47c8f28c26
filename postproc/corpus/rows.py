"""A corpus row: everything known of one published utterance, as manifest.jsonl holds it and every format
draws from it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pocket_batch.core.records import Chunk, WordTime
from pocket_batch.ingest.csvfile import Utterance
from pocket_batch.synth.model.voices import Voice
from pocket_batch.verify.words import words as spoken_words

# The quality gates' scores, a column each in every format (None where not measured).
SCORES = ("wer", "similarity", "drift", "pace", "snr_db", "clipped", "longest_pause", "end_db",
          "mos_sig", "mos_bak", "mos_ovrl")
FANOUT = 256  # subfolders per voice: a million WAVs make 4,000 a folder, not a million


@dataclass(frozen=True)
class Entry:
    """A take that passed, on its way to the corpus."""

    row: Utterance
    voice: Voice
    chunk: Chunk
    key: str
    tokens: int  # the model's tokens for the text: its 500-token limit is checked against it
    flags: list[str]
    scores: dict = field(default_factory=dict)  # the quality gates' status, wer, similarity, pace, snr_db, ...
    words: tuple[WordTime, ...] = ()  # aligned by verification, in samples of the take

    @property
    def file(self) -> str:
        return wav_file(self.voice.name, self.row.id)


def wav_file(voice: str, uid: str) -> str:
    """Relative to wavs/: the voice's folder, then one of FANOUT subfolders by a hash of the id."""
    bucket = hashlib.blake2b(uid.encode("utf-8", "surrogatepass"), digest_size=1).digest()[0]
    return f"{voice}/{bucket % FANOUT:02x}/{uid}.wav"


def transcript_words(transcript: str, aligned: tuple[WordTime, ...], rate: int, offset: int,
                     duration: float) -> list[dict] | None:
    """The transcript's whitespace words with their times in seconds of the published WAV (trimmed `offset`
    samples of the take), as pocket-tts's align_data.py writes them: a word with nothing to say ("—") has no
    times. None when verification aligned no words."""
    if not aligned:
        return None
    out, k = [], 0
    for token in transcript.split():
        parts = spoken_words(token)
        times = aligned[k:k + len(parts)]
        k += len(parts)
        if not parts or len(times) < len(parts):
            out.append({"word": token, "start": None, "end": None})
            continue
        start = min(max((times[0].start - offset) / rate, 0.0), duration)
        end = min(max((times[-1].end - offset) / rate, start), duration)
        out.append({"word": token, "start": round(start, 3), "end": round(end, 3)})
    return out if k == len(aligned) else None  # the alignment is of other words: no times rather than wrong ones


def columns(row: dict) -> dict:
    """The columns every format carries besides the audio: ids, texts, split, measures and scores."""
    return {"id": row["id"], "speaker": row["voice"], "text": row["text"], "normalized": row["normalized"],
            "split": row["split"], "duration": row["duration"], "seed": row["seed"], "model": row["model"],
            "status": row.get("status")} | {name: row.get(name) for name in SCORES}
