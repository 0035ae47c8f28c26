"""A chapter's paragraphs into sentence chunks that fit the model, each marked with what follows it."""

from __future__ import annotations

from pocket_batch.core.records import Boundary, Chapter, Chunk, Omission, chunk_id
from pocket_batch.ingest.normalize import Normalizer
from pocket_batch.ingest.sentences import SentenceSplitter, TokenCounter, fit_to_tokens
from pocket_batch.ingest.structure import Section

SHORT_WORDS = 2  # a sentence this short ("Yes.", "He nodded.") is read with its neighbour
PAUSE_ORDER = [Boundary.SENTENCE, Boundary.PARAGRAPH, Boundary.SECTION, Boundary.CHAPTER]


def speakable(normalized: str) -> bool:
    """Something the model can say: a letter or a digit (a "___" scene break or "[]" is not)."""
    return any(c.isalnum() for c in normalized)


def make_chapter(index: int, section: Section, split: SentenceSplitter, normalize: Normalizer,
                 count_tokens: TokenCounter, max_tokens: int) -> tuple[Chapter, list[Omission]]:
    """Sentence chunks of a chapter, and the pieces with nothing to speak, which never reach the model.

    Token limits apply to what is read, the normalized text.
    """
    def tokens_of(text: str) -> int:  # what cannot be spoken costs no tokens (and the model refuses it)
        spoken = normalize(text)
        return count_tokens(spoken) if speakable(spoken) else 0

    pieces: list[tuple[str, Boundary]] = []
    heading = section.title if section.spoken_title and section.title.strip() else None
    if heading:
        pieces.append((heading, Boundary.PARAGRAPH))
    for para in section.paras:
        sentences = [p for s in split(para.text) for p in fit_to_tokens(s, tokens_of, max_tokens)]
        sentences = merge_short(sentences, tokens_of, max_tokens)
        pieces += [(s, Boundary.SENTENCE) for s in sentences]
        if sentences:
            pieces[-1] = (sentences[-1], Boundary.SECTION if para.section_break else Boundary.PARAGRAPH)
    spoken = [(text, normalize.heading(text) if n == 0 and heading else normalize(text), boundary)
              for n, (text, boundary) in enumerate(pieces)]
    silent = [Omission("nothing to speak", section.title, len(text.split()), text[:40])
              for text, normalized, _ in spoken if not speakable(normalized)]
    kept = []
    for text, normalized, boundary in spoken:
        if speakable(normalized):
            kept.append([text, normalized, boundary])
        elif kept:  # its pause still follows the piece before it
            kept[-1][2] = max(kept[-1][2], boundary, key=PAUSE_ORDER.index)
    if kept:
        kept[-1][2] = Boundary.CHAPTER
    chunks = tuple(Chunk(chunk_id(index, n), index, text, normalized, boundary)
                   for n, (text, normalized, boundary) in enumerate(kept, start=1))
    return Chapter(index, section.title, chunks, section.start), silent


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
