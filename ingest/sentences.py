"""Sentence splitting (NLTK Punkt, no data download) and fitting sentences to the model's token limit."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Callable

# Punkt learns abbreviations from the document itself; these are the ones a
# single book may use too rarely to learn (lower case, without the final period).
ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "rev", "hon", "gen", "col", "capt", "lt",
    "sgt", "cpl", "maj", "gov", "sen", "rep", "pres", "messrs", "mme", "mlle", "vs", "etc", "e.g",
    "i.e", "cf", "viz", "approx", "no", "nos", "vol", "vols", "fig", "figs", "p", "pp", "ch",
    "chap", "sec", "ed", "eds", "inc", "ltd", "co", "corp", "dept", "est", "mt", "ave", "blvd",
    "rd", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "a.m", "p.m", "u.s", "u.k", "ph.d", "m.d", "b.a", "m.a", "d.c", "op", "esq",
}
# The same for Pocket TTS's other languages (titles, "for example", units, page).
LANGUAGE_ABBREVIATIONS = {
    "fr": {"m", "mm", "mme", "mmes", "mlle", "mlles", "dr", "st", "ste", "etc", "cf", "env", "av", "bd", "p", "pp",
           "vol", "chap", "n", "no", "ex", "art", "réf", "éd", "hab", "j.-c", "apr", "av. j.-c"},
    "de": {"z.b", "usw", "bzw", "dr", "hr", "fr", "frl", "nr", "ca", "d.h", "u.a", "vgl", "s", "str", "bd", "jh", "z.t",
           "u.s.w", "evtl", "inkl", "ggf", "prof", "dipl", "ing", "abs", "hl", "geb", "gest"},
    "es": {"sr", "sra", "srta", "dr", "dra", "ud", "uds", "etc", "pág", "págs", "p.ej", "núm", "av", "avda",
           "dña", "d", "lic", "ing", "cap", "vol", "ej"},
    "it": {"sig", "sig.ra", "sigg", "dott", "dott.ssa", "prof", "ecc", "pag", "pagg", "cap", "avv", "ing", "on",
           "n", "vol", "es", "s", "v"},
    "pt": {"sr", "sra", "srta", "dr", "dra", "etc", "pág", "págs", "p.ex", "n", "nº", "av", "cap", "vol", "ex",
           "prof", "profa", "eng"},
    "nl": {"dhr", "mevr", "mw", "dr", "bijv", "enz", "o.a", "d.w.z", "blz", "nr", "ca", "m.b.t", "i.p.v", "t.a.v",
           "prof", "ir", "ing", "jl", "z.g.a"},
}
CLAUSE_BREAKS = [
    re.compile(r"(?<=[;:])\s+"),
    re.compile(r"\s+(?=[\u2014\u2013]|--)|(?<=[\u2014\u2013])\s*|(?<=--)\s*"),
    re.compile(r"(?<=,)\s+"),
    re.compile(r"\s+(?=(?:and|but|or|nor|so|yet|because|which|while|whereas|although|though|when|where|that)\b)"),
    re.compile(r"\s+"),  # last resort: any word boundary, never mid-word
]
RUN_ON = 8  # a sentence of more words than 8 chunks' tokens is cut into blocks of 2 chunks' words first
# Punkt never ends a sentence at an ellipsis; one followed by a capital usually does.
ELLIPSIS_END = re.compile(r"(?:(?<=\.\.\.)|(?<=\u2026))\s+(?=[\"\u201c'\u2018]?[A-Z])")
# Marks that open a quotation, which Punkt may leave at the end of the sentence before it; German
# closes with “ and «, so there only „ and » open.
OPENING_QUOTES = {"de": "\u201e\u00bb"}
DEFAULT_OPENING_QUOTES = "\u00ab\u201e\u201c"
TokenCounter = Callable[[str], int]
TRAIN_CHARS = 100_000


@functools.cache
def load_punkt() -> types.ModuleType:
    """nltk.tokenize.punkt without running nltk/__init__, which imports scipy.stats and most of
    NLTK (1.4 s of a 2 s `inspect`). The package is stood in for while Punkt imports, then every
    nltk module is dropped from sys.modules again, so a later `import nltk` is the real, full one."""
    if "nltk" in sys.modules:
        return importlib.import_module("nltk.tokenize.punkt")
    spec = importlib.util.find_spec("nltk")
    stand_in = types.ModuleType("nltk")
    stand_in.__path__ = list(spec.submodule_search_locations)
    sys.modules["nltk"] = stand_in
    try:
        return importlib.import_module("nltk.tokenize.punkt")
    finally:
        for name in [n for n in sys.modules if n == "nltk" or n.startswith("nltk.")]:
            del sys.modules[name]


class SentenceSplitter:
    """NLTK Punkt trained once on a whole book (abbreviations, initials, collocations), plus known abbreviations."""

    def __init__(self, train_text: str, language: str = "en"):
        PunktSentenceTokenizer = load_punkt().PunktSentenceTokenizer
        # Training is linear in the text: 100k characters teach a book's abbreviations in ~0.5 s.
        self.tokenizer = PunktSentenceTokenizer(train_text[:TRAIN_CHARS])
        self.tokenizer._params.abbrev_types.update(ABBREVIATIONS | LANGUAGE_ABBREVIATIONS.get(language[:2].lower(), set()))
        self.opening = OPENING_QUOTES.get(language[:2].lower(), DEFAULT_OPENING_QUOTES)

    def __call__(self, text: str) -> list[str]:
        sentences: list[str] = []
        carried = ""  # an opening quote Punkt left at the end of the sentence before ("tomba. « Viens")
        for sentence in (part for s in self.tokenizer.tokenize(text) for part in ELLIPSIS_END.split(s)):
            sentence, opening = _trailing_opening_quote(carried + sentence, self.opening)
            carried = opening
            # '"Are you there?" she asked.' is one sentence: a lower-case start continues the last one
            # (so does « Oui ? » demanda-t-il, and ¿Vienes? —preguntó).
            if sentences and sentence.lstrip("\u00ab\u00bb\u201c\u201d\"' ,\u2014-")[:1].islower():
                glued = sentence[:1] in "\u00ab\u00bb\u201c\u201d\"',"  # a closing mark was written against it
                sentences[-1] = f"{sentences[-1]}{'' if glued else ' '}{sentence}"
            else:
                sentences.append(sentence)
        if carried and sentences:
            sentences[-1] += carried
        return [" ".join(s.split()) for s in sentences if s.strip()]


def _trailing_opening_quote(sentence: str, opening: str) -> tuple[str, str]:
    stripped = sentence.rstrip()
    if len(stripped) > 1 and stripped[-1] in opening:
        return stripped[:-1], stripped[-1] + " "
    return sentence, ""


def split_sentences(text: str) -> list[str]:
    return SentenceSplitter(text)(text)


def fit_to_tokens(sentence: str, count_tokens: TokenCounter, limit: int) -> list[str]:
    """Split a sentence over `limit` tokens at clause boundaries, preferring ; : dashes , conjunctions."""
    words = sentence.split()
    if len(words) > RUN_ON * limit:  # a run of thousands of words with no full stop: blocks first, so it stays linear
        blocks = (" ".join(words[at:at + 2 * limit]) for at in range(0, len(words), 2 * limit))
        return [piece for block in blocks for piece in fit_to_tokens(block, count_tokens, limit)]
    if count_tokens(sentence) <= limit:
        return [sentence]
    for pattern in CLAUSE_BREAKS:
        cut = _middle_cut(sentence, pattern)
        if cut is not None:
            head, tail = sentence[:cut[0]].rstrip(), sentence[cut[1]:].lstrip()
            return fit_to_tokens(head, count_tokens, limit) + fit_to_tokens(tail, count_tokens, limit)
    return [sentence]  # a single word over the limit: nothing sensible to cut


def _middle_cut(text: str, pattern: re.Pattern) -> tuple[int, int] | None:
    """The match of `pattern` closest to the middle that leaves text on both sides."""
    first, last = len(text) - len(text.lstrip()), len(text.rstrip())  # text on both sides: a cut inside these
    cuts = [(m.start(), m.end()) for m in pattern.finditer(text) if m.start() > first and m.end() < last]
    if not cuts:
        return None
    middle = len(text) / 2
    return min(cuts, key=lambda c: abs(c[0] - middle))
