"""Who speaks: quoted speech cut from the narration, and attributed to a character where the text says so.

    “It is late,” said Javert.        -> dialogue "It is late," (Javert's voice), narration "said Javert."
    Javert replied, «Not yet.»        -> narration "Javert replied,", dialogue "Not yet." (Javert's)
    — Je viens, dit-il.               -> em-dash dialogue, in languages that write it so

The quote marks are not read. A quote with no closing mark runs to the paragraph's end (the
convention for speech over several paragraphs). An attribution needs a speech verb and exactly one
of the mapped names in the narration right before or after the quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pocket_batch.core.errors import PocketBatchError

from pocket_batch.ingest.marks import Run

# Opening mark -> closing mark. ‘…’ closes only on a ’ that is not inside a word (not "don’t").
QUOTES = {"\u201c": "\u201d", '"': '"', "\u00ab": "\u00bb", "\u201e": "\u201c", "\u2018": "\u2019", "\u00bb": "\u00ab"}
DASH_LANGUAGES = {"fr", "es", "it", "pt", "ru", "pl"}  # em-dash dialogue is their convention
DASHES = "\u2014\u2013\u2015"
SPEECH_VERBS = {
    "en": "said|says|asked|asks|replied|answered|cried|called|shouted|whispered|muttered|added|continued|exclaimed|"
          "began|went on|murmured|told|repeated|insisted|declared|demanded|snapped|sighed|laughed",
    "fr": "dit|demanda|répondit|cria|murmura|ajouta|reprit|s'écria|continua|déclara|répliqua",
    "de": "sagte|fragte|antwortete|rief|flüsterte|fügte|meinte|erwiderte|murmelte",
    "es": "dijo|preguntó|respondió|contestó|gritó|susurró|añadió|exclamó|murmuró",
    "it": "disse|chiese|rispose|gridò|sussurrò|aggiunse|esclamò|mormorò",
    "pt": "disse|perguntou|respondeu|gritou|sussurrou|acrescentou|exclamou|murmurou",
    "nl": "zei|vroeg|antwoordde|riep|fluisterde|voegde|mompelde",
}
CLAUSE = re.compile(r"[.!?;]")
NEAR = 80  # characters of narration around a quote that may name its speaker


@dataclass(frozen=True)
class Roles:
    """Voices for speech: quotes with no known speaker, and characters by name."""

    dialogue: str | None = None
    characters: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.dialogue or self.characters)


def split_speech(run: Run, language: str, roles: Roles) -> list[Run]:
    """A narration run cut into narration and speech runs, each speech run with its role and voice."""
    if run.voice is not None or not run.text:
        return [run]
    spans = _quoted(run.text) or _dashed(run.text, language)
    if not spans:
        return [run]
    out, at, name = [], 0, None
    for start, end, inner_start, inner_end in spans:
        before, said = run.text[at:start].strip(), run.text[inner_start:inner_end].strip()
        if before:
            out.append(Run(before))
        if said:  # unattributed, a quote goes on in the voice of the paragraph's speaker before it
            name = _speaker(run.text[max(0, start - NEAR):start], run.text[end:end + NEAR], language, roles) or name
            out.append(Run(said, roles.characters[name] if name else roles.dialogue,
                           role=f"attributed to {name}" if name else "dialogue"))
        at = end
    rest = run.text[at:].strip()
    if rest:
        out.append(Run(rest))
    if out:
        out[-1] = Run(out[-1].text, out[-1].voice, run.pause, out[-1].role)
    return out


def _quoted(text: str) -> list[tuple[int, int, int, int]]:
    """(start, end, inner start, inner end) of each quotation, outermost only."""
    spans, at = [], 0
    while at < len(text):
        opening = text[at]
        closing = QUOTES.get(opening)
        if closing is None or (opening == "\u2018" and at and text[at - 1].isalnum()):
            at += 1
            continue
        end = at + 1
        while end < len(text) and not (text[end] == closing and _closes(text, end, closing)):
            end += 1
        spans.append((at, min(end + 1, len(text)), at + 1, end))
        at = end + 1
    return spans


def _closes(text: str, at: int, closing: str) -> bool:
    """A ’ between two letters is an apostrophe, not the end of a quote."""
    return closing != "\u2019" or not (at + 1 < len(text) and text[at + 1].isalpha() and text[at - 1].isalpha())


def _dashed(text: str, language: str) -> list[tuple[int, int, int, int]]:
    """A paragraph opening with a dash in a language that writes dialogue so: the speech runs to the
    narrator's aside (", dit-il", or a dash), or to the end."""
    if (language or "en")[:2] not in DASH_LANGUAGES or not text or text[0] not in DASHES:
        return []
    aside = re.search(rf"\s[{DASHES}]\s|,\s+(?=(?:{SPEECH_VERBS[language[:2]]})\b)", text[1:], re.I) \
        if language[:2] in SPEECH_VERBS else re.search(rf"\s[{DASHES}]\s", text[1:])
    end = aside.start() + 2 if aside else len(text)  # the aside's comma stays with the speech
    return [(0, end, 1, end)]


def _speaker(before: str, after: str, language: str, roles: Roles) -> str | None:
    """The one mapped name next to a speech verb in the clause just before or just after the quote."""
    if not roles.characters:
        return None
    verbs = re.compile(rf"\b({SPEECH_VERBS.get((language or 'en')[:2], SPEECH_VERBS['en'])})\b", re.I)
    clauses = [CLAUSE.split(after, maxsplit=1)[0], CLAUSE.split(before)[-1]]
    for clause in clauses:
        names = [n for n in roles.characters if re.search(rf"\b{re.escape(n)}\b", clause)]
        if verbs.search(clause) and len(names) == 1:
            return names[0]
    return None


def read_voice_map(path: Path) -> dict[str, str]:
    """Character -> voice, from TOML (`Javert = "javert"`, at the top or in a [voices] table); a voice that is
    a file is relative to the map."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PocketBatchError(f"{path}: not a readable voice map ({exc})".splitlines()[0]) from None
    table = data.get("voices", data)
    if not isinstance(table, dict):  # `voices = "marius"` is a job file's narrators, not a map
        raise PocketBatchError(f"{path}: a voice map is lines of NAME = \"voice\" or a [voices] table, not "
                               f"voices = {table!r}")
    bad = [repr(name) for name, voice in table.items()
           if not isinstance(voice, str) or not voice.strip() or not name.strip()]
    if bad or not table:
        raise PocketBatchError(f"{path}: a voice map is lines of NAME = \"voice\" (not {', '.join(bad[:3]) or 'empty'})")
    return {name.strip(): _relative(voice, path.parent) for name, voice in table.items()}


def _relative(voice: str, folder: Path) -> str:
    candidate = folder / voice
    return str(candidate) if candidate.suffix and candidate.exists() else voice
