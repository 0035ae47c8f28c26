"""A chapter's paragraphs into sentence chunks that fit the model, each marked with what follows it."""

from __future__ import annotations

from dataclasses import dataclass

from pocket_batch.core.records import Boundary, Chapter, Chunk, Omission, chunk_id
from pocket_batch.ingest.dialogue import Roles, split_speech
from pocket_batch.ingest.marks import runs
from pocket_batch.ingest.normalize import Normalizer
from pocket_batch.ingest.sentences import SentenceSplitter, TokenCounter, fit_to_tokens
from pocket_batch.ingest.structure import Section

SHORT_WORDS = 2  # a sentence this short ("Yes.", "He nodded.") is read with its neighbour
PAUSE_ORDER = [Boundary.SENTENCE, Boundary.PARAGRAPH, Boundary.SECTION, Boundary.CHAPTER]


def speakable(normalized: str) -> bool:
    """Something the model can say: a letter or a digit (a "___" scene break or "[]" is not)."""
    return any(c.isalnum() for c in normalized)


@dataclass
class Piece:
    """A sentence (or a part of one that fits the model) on its way to becoming a chunk."""

    text: str
    boundary: Boundary = Boundary.SENTENCE
    voice: str | None = None
    pause: float | None = None
    role: str = "narration"
    normalized: str = ""
    heading: bool = False


@dataclass
class OpenVoice:
    """A voice mark's voice, open from paragraph to paragraph until its [/voice]."""

    voice: str | None = None


def make_chapter(index: int, section: Section, split: SentenceSplitter, normalize: Normalizer,
                 count_tokens: TokenCounter, max_tokens: int, open_voice: OpenVoice | None = None,
                 roles: Roles = Roles()) -> tuple[Chapter, list[Omission]]:
    """Sentence chunks of a chapter, and the pieces with nothing to speak, which never reach the model.

    Token limits apply to what is read, the normalized text. A chunk never spans two voices: a
    paragraph is cut at its marks (ingest/marks.py), then at its quotes when speech has voices of its
    own (ingest/dialogue.py), then into sentences.
    """
    def tokens_of(text: str) -> int:  # what cannot be spoken costs no tokens (and the model refuses it)
        spoken = normalize(text)
        return count_tokens(spoken) if speakable(spoken) else 0

    open_voice = open_voice or OpenVoice()
    pieces: list[Piece] = []
    para_starts: list[int] = []  # each paragraph's first piece
    heading = section.title if section.spoken_title and section.title.strip() else None
    if heading:
        pieces.append(Piece(heading, Boundary.PARAGRAPH, heading=True))
    for para in section.paras:
        para_runs, open_voice.voice = runs(para.text, open_voice.voice)
        if roles:
            para_runs = [r for run in para_runs for r in split_speech(run, normalize.language, roles)]
        added = len(pieces)
        para_starts.append(added)
        for run in para_runs:
            sentences = [p for s in split(run.text) for p in fit_to_tokens(s, tokens_of, max_tokens)] if run.text else []
            pieces += [Piece(s, voice=run.voice, role=run.role) for s in merge_short(sentences, tokens_of, max_tokens)]
            if run.pause is not None and pieces:
                pieces[-1].pause = run.pause
        if len(pieces) > added:
            pieces[added].heading = para.heading
            pieces[-1].boundary = Boundary.SECTION if para.section_break else Boundary.PARAGRAPH
    for piece in pieces:
        piece.normalized = normalize.heading(piece.text) if piece.heading else normalize(piece.text)
    silent = [Omission("nothing to speak", section.title, len(p.text.split()), p.text[:40])
              for p in pieces if not speakable(p.normalized)]
    kept: list[Piece] = []
    kept_at: list[int] = []  # for each piece, the kept piece read at or after it
    for piece in pieces:
        kept_at.append(len(kept))
        if speakable(piece.normalized):
            kept.append(piece)
        elif kept:  # its pause still follows the piece before it
            kept[-1].boundary = max(kept[-1].boundary, piece.boundary, key=PAUSE_ORDER.index)
            kept[-1].pause = piece.pause if piece.pause is not None else kept[-1].pause
    if kept:
        kept[-1].boundary = Boundary.CHAPTER
    chunks = tuple(Chunk(chunk_id(index, n), index, p.text, p.normalized, p.boundary, p.voice, p.role, p.pause)
                   for n, p in enumerate(kept, start=1))
    return Chapter(index, section.title, chunks, section.start, _pages(section, para_starts, kept_at, chunks)), silent


def _pages(section: Section, para_starts: list[int], kept_at: list[int], chunks: tuple[Chunk, ...]) -> tuple:
    """Each print page that begins in the chapter, with the first chunk read at or after its marker: a page
    marked inside a paragraph is found at that paragraph's start. A page after the last chunk is left out."""
    pages = []
    for page, para in section.pages:
        piece = para_starts[para] if para < len(para_starts) else len(kept_at)
        n = kept_at[piece] if piece < len(kept_at) else len(chunks)
        if n < len(chunks):
            pages.append((page, chunks[n].id))
    return tuple(pages)


def merge_short(sentences: list[str], tokens_of: TokenCounter, max_tokens: int) -> list[str]:
    """Read a very short sentence together with the next one (the last with the previous), if it fits."""
    merged: list[str] = []
    for sentence in sentences:
        if merged and _short(merged[-1]) and tokens_of(f"{merged[-1]} {sentence}") <= max_tokens:
            merged[-1] = f"{merged[-1]} {sentence}"
        else:
            merged.append(sentence)
    if len(merged) > 1 and _short(merged[-1]) and tokens_of(f"{merged[-2]} {merged[-1]}") <= max_tokens:
        merged[-2:] = [f"{merged[-2]} {merged[-1]}"]
    return merged


def _short(sentence: str) -> bool:
    return len(sentence.split()) <= SHORT_WORDS
