"""Text normalization: what Pocket TTS can read aloud, from what a book prints.

Pocket TTS is too small to read symbols, digits or abbreviations, and its
maintainers ask users to preprocess. A `Normalizer` per language: English is
complete; other languages get the user lexicon, quotes, dashes and numbers in
words (num2words knows the language), and keep the rest as written.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from num2words import num2words

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import package_file, sha256_json
from pocket_batch.ingest.languages import CAPITALS, as_word, beside_capitals, language_rules, roman_to_int, say

PRIVATE_USE = 0xF0000  # plane 15: never in a book, never matched by \w
Rule = tuple[re.Pattern, Callable[[re.Match], str] | str]

QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"',
                        "\u00bb": '"', "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " "})
ABBREVIATIONS = {
    "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Dr.": "Doctor", "Prof.": "Professor",
    "Jr.": "Junior", "Sr.": "Senior", "Rev.": "Reverend", "Capt.": "Captain", "Lt.": "Lieutenant",
    "Gen.": "General", "Col.": "Colonel", "Sgt.": "Sergeant", "Mt.": "Mount", "Ave.": "Avenue",
    "vs.": "versus", "etc.": "et cetera", "e.g.": "for example", "i.e.": "that is", "approx.": "approximately",
    "Jan.": "January", "Feb.": "February", "Aug.": "August", "Sept.": "September", "Oct.": "October",
    "Nov.": "November", "Dec.": "December",
}
SYMBOLS = {"&": " and ", "%": " percent", "\u00b0": " degrees", "\u00a7": " section ", "+": " plus ",
           "=": " equals ", "@": " at ", "#": " number ", "\u00bd": " and a half", "\u00bc": " and a quarter"}
CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "\u00a3": ("pound", "pounds", "penny", "pence"),
              "\u20ac": ("euro", "euros", "cent", "cents"), "\u00a5": ("yen", "yen", "sen", "sen")}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
# Kings, queens and popes: "Henry VIII" is "Henry the Eighth"; any other capitalized word before a numeral of two
# letters or more says its number ("World War II", "Apollo XI").
REGNAL_NAMES = set("""Alexander Alfonso Amenhotep Anne Benedict Boniface Carlos Catherine Charles Christian Clement
Constantine Edward Elizabeth Ferdinand Francis Frederick Friedrich George Gregory Gustav Gustavus Haakon Henri Henry
Innocent Ivan James Joao John Juan Karl Leo Leopold Louis Ludwig Manuel Mary Mehmed Napoleon Nicholas Olav Otto Paul
Pedro Peter Philip Philippe Pius Ptolemy Ramesses Rameses Richard Robert Sixtus Stephen Thutmose Urban Victor
Wilhelm William""".split())
LETTER_SOUNDS = {"A": "EY", "B": "B IY", "C": "S IY", "D": "D IY", "E": "IY", "F": "EH F", "G": "JH IY", "H": "EY CH",
                 "I": "AY", "J": "JH EY", "K": "K EY", "L": "EH L", "M": "EH M", "N": "EH N", "O": "OW", "P": "P IY",
                 "Q": "K Y UW", "R": "AA R", "S": "EH S", "T": "T IY", "U": "Y UW", "V": "V IY",
                 "W": "D AH B AH L Y UW", "X": "EH K S", "Y": "W AY", "Z": "Z IY"}


@functools.cache
def spelled_words() -> dict[str, bool]:
    """Every word of the CMU pronouncing dictionary (pocketsphinx's wheel carries it), with whether its first
    pronunciation is its letters' names ("fbi", "isbn": True; "nasa", "chess": False) and, for any other
    word said both ways ("us": "AH S" or "Y UW EH S"), None."""
    path = package_file("pocketsphinx", "model", "en-us", "cmudict-en-us.dict", install="pocketsphinx")
    words: dict[str, bool | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry, _, phones = line.partition(" ")
        word = entry.split("(")[0]
        if not word.isalpha() or not word.isascii():
            continue
        letters = " ".join(LETTER_SOUNDS[c] for c in word.upper()) == phones
        if word not in words:
            words[word] = letters
        elif letters and words[word] is False:
            words[word] = None
    return words


def load_lexicon(path: Path) -> dict[str, str]:
    """A pronunciation lexicon: word -> respelling, as TSV (two columns) or a JSON object."""
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object of word: respelling")
            entries = [(f"entry {n}", k, v) for n, (k, v) in enumerate(data.items(), start=1)]
            if odd := [f"{k!r}: {json.dumps(v)}" for _, k, v in entries if not isinstance(v, str)]:
                raise ValueError(f"a respelling is text, not {', '.join(odd[:3])}")
        else:
            entries = []
            rows = csv.reader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter="\t")
            for n, row in enumerate(rows, start=1):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) != 2:
                    raise ValueError(f"line {n} has {len(row)} columns, expected word<TAB>respelling")
                entries.append((f"line {n}", row[0], row[1]))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise PocketBatchError(f"{path}: bad lexicon ({exc})") from None
    empty = [where for where, word, _ in entries if not word.strip()]
    if empty:
        raise PocketBatchError(f"{path}: bad lexicon (an empty word at {', '.join(empty[:5])})")
    return {" ".join(word.split()): respelling for _, word, respelling in entries}


class Lexicon:
    """Whole words and phrases looked up in a dict, punctuation around them kept: "C++," and "Dr." match too."""

    EDGES = re.compile(r"([\"'(\[{«“‘¿¡]*)(.*?)([.,;:!?\"')\]}»”’…]*)", re.S)

    def __init__(self, entries: dict[str, str]):
        self.entries = entries
        self.longest = max((len(word.split()) for word in entries), default=0)

    def apply(self, text: str, hold: Callable[[str], str]) -> str:
        """`text` with every entry replaced by `hold(respelling)`; longest phrase first, left to right."""
        words, out, i = text.split(), [], 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                phrase = " ".join(words[i:i + n])
                found = self._match(phrase)
                if found:
                    out.append(found[0] + hold(found[1]) + found[2])
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)

    def _match(self, phrase: str) -> tuple[str, str, str] | None:
        if phrase in self.entries:
            return "", self.entries[phrase], ""
        lead, core, trail = self.EDGES.fullmatch(phrase).groups()
        if core and core in self.entries:
            return lead, self.entries[core], trail
        return None


class Normalizer:
    """Lexicon first, then the language's rules; `__call__` maps written text to spoken text."""

    def __init__(self, language: str = "en", lexicon: dict[str, str] | None = None):
        self.language = language
        self.lexicon = Lexicon(lexicon or {})
        self.warnings: list[str] = []
        self.number_language = number_language(language)
        if self.number_language is None:
            self.warnings.append(f"numbers stay as digits: num2words cannot say them in {language!r}")
        self.rules = ENGLISH_RULES if language.startswith("en") else self._generic_rules()

    @functools.cached_property
    def fingerprint(self) -> str:
        """What decides this normalizer's output besides the text: a text normalized under the same fingerprint
        need not be normalized again."""
        return sha256_json([self.language, sorted(self.lexicon.entries.items()), version("pocket-batch")])[:16]

    def __call__(self, text: str) -> str:
        return self._cached(text)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - chunking asks for the same sentence twice
    def _cached(self, text: str) -> str:
        text = text.translate(QUOTES)
        held: list[str] = []
        if self.lexicon.entries:
            # Respellings are the user's last word: held out of every rule as private-use marks.
            def hold(respelling: str) -> str:
                held.append(respelling)
                return chr(PRIVATE_USE + len(held) - 1)

            text = self.lexicon.apply(text, hold)
        for pattern, replacement in self.rules:
            text = pattern.sub(replacement, text)
        for n, respelling in enumerate(held):
            text = text.replace(chr(PRIVATE_USE + n), respelling)
        return " ".join(text.split())

    def heading(self, text: str) -> str:
        """A heading: a roman numeral standing alone, or opening it before a stop, is a number ("XII", "II. A
        GAME OF CHESS" -> "Two. A game of chess"); "I Remember" keeps its pronoun."""
        m = re.match(r"\s*([IVXLCDMivxlcdm]+)(?:([.:)])\s*|\s*$)(.*)", text, re.S)
        value = roman_to_int(m.group(1)) if m else None
        if not value or not self.number_language:
            return self(text)
        said = num2words(value, lang=self.number_language).capitalize()
        return f"{said}." if not m.group(3).strip() else f"{said}. {self(m.group(3))}"

    def _generic_rules(self) -> list[Rule]:
        lang = self.number_language

        def number(m: re.Match) -> str:
            value = int(m.group().replace(",", ""))
            if 1100 <= value <= 1999:  # four digits read as a year ("neunzehnhundert..."), as the language says them
                return say(value, lang, "year")
            return say(value, lang)

        dashes = (re.compile(r"\s*[\u2014\u2013]\s*"), ", ")
        if not lang:
            return [ENGLISH_RULES[0], dashes, CAPITALS]
        return [ENGLISH_RULES[0], dashes, *language_rules(lang), (re.compile(r"\d+"), number), CAPITALS]


def number_language(language: str) -> str | None:
    """num2words' name for a language ("pt_BR", "fr", ...), or None when it cannot say numbers in it."""
    from num2words import CONVERTER_CLASSES

    code = language.replace("-", "_")
    for candidate in (code, code.split("_")[0][:2].lower()):
        if candidate in CONVERTER_CLASSES:
            return candidate
    return None


def _words(n: int | float) -> str:
    return num2words(n).replace(",", "")  # "one thousand, five hundred": no pause inside a number


def _meridiem(m: re.Match, letter: str) -> str:
    """'a m' / 'p m', keeping the period of 'p.m.' when it also ends the sentence."""
    rest = m.string[m.end():]
    ends = m.group().endswith(".") and (not rest.strip() or re.match(r"\s+[A-Z]", rest))
    return f"{letter.lower()} m" + ("." if ends else "")


def _currency(m: re.Match) -> str:
    one, many, sub_one, sub_many = CURRENCIES[m.group("sym")]
    whole = int(m.group("whole").replace(",", ""))
    scale = m.group("scale")
    if scale:
        return f"{_words(float(m.group('whole').replace(',', '') + (m.group('frac') and '.' + m.group('frac') or '')))} {scale} {many}"
    text = f"{_words(whole)} {one if whole == 1 else many}"
    cents = int((m.group("frac") or "0").ljust(2, "0")[:2])
    if cents:
        text += f" and {_words(cents)} {sub_one if cents == 1 else sub_many}"
    return text


def _time(m: re.Match) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    spoken = _words(hour) + ("" if minute == 0 else f" oh {_words(minute)}" if minute < 10 else f" {_words(minute)}")
    suffix = m.group(3)
    if suffix:
        spoken += " " + _meridiem(m, suffix[0])
    elif minute == 0:
        spoken += " o'clock"
    return spoken


def _date_iso(m: re.Match) -> str:
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group()
    return f"{MONTHS[month - 1]} {num2words(day, to='ordinal')}, {num2words(year, to='year')}"


def _month_day(m: re.Match) -> str:
    return f"{m.group(1)} {num2words(int(m.group(2)), to='ordinal')}"


def _day_month(m: re.Match) -> str:
    return f"the {num2words(int(m.group(1)), to='ordinal')} of {m.group(2)}"


def _range(m: re.Match) -> str:
    return f"{m.group(1)} to {m.group(2)}"


def _decimal(m: re.Match) -> str:
    whole, frac = m.group(1).replace(",", ""), m.group(2)
    return f"{_words(int(whole))} point {' '.join(_words(int(d)) for d in frac)}"


def _cardinal(m: re.Match) -> str:
    text = m.group()
    value = int(text.replace(",", ""))
    if "," not in text and len(text) == 4 and 1100 <= value <= 2099:
        return num2words(value, to="year")
    if len(text) > 1 and text.startswith("0"):
        return " ".join(_words(int(d)) for d in text)  # 007, zip codes: digit by digit
    return _words(value)


def _url(m: re.Match) -> str:
    host = re.sub(r"^(https?://)?(www\.)?", "", m.group()).split("/")[0]
    return host.replace(".", " dot ")


def _email(m: re.Match) -> str:
    user, host = m.group().split("@")
    return f"{user.replace('.', ' dot ')} at {host.replace('.', ' dot ')}"


def _capitals(m: re.Match) -> str:
    """A word in capitals: an initialism letter by letter ("ISBN" -> "I S B N"), a word in lower case.

    Among other words in capitals (a heading, a shout) a word is read as the dictionary first says it ("THE
    FBI FILES": "the F B I files", "WELCOME TO THE US": "us"); alone among lower-case words, as letters if it
    is ever said so ("the US" -> "U S"). A word the dictionary does not know is spelled when it is short or
    has no vowel ("BRD", "XQZ"), else read as a word ("GRADGRIND")."""
    word, plural = m.group(1), m.group(2) or ""
    known = spelled_words().get(word.lower(), "unknown")
    if known == "unknown":
        spell = len(word) <= 3 or not re.search(r"[AEIOUY]", word)
    else:
        spell = known is True or (known is None and not beside_capitals(m, r"[A-Z]{2,}|[AI]", joined="[-\u2010]?"))
    return (" ".join(word) if spell else as_word(word, m)) + plural


def _heading_roman(m: re.Match) -> str:
    value = roman_to_int(m.group(2))
    return f"{m.group(1).capitalize()} {_words(value)}" if value else m.group()


def _named_roman(m: re.Match) -> str:
    """ "Henry VIII" -> "Henry the Eighth"; "World War II" -> "World War two"."""
    name, numeral = m.group(1), m.group(2)
    value = roman_to_int(numeral)
    if not value or (numeral == "I" and name not in REGNAL_NAMES):
        return m.group()
    if name in REGNAL_NAMES:
        return f"{name} the {num2words(value, to='ordinal').capitalize()}"
    return f"{name} {_words(value)}"


def _digits(text: str) -> str:
    """Digit by digit, a pause between the groups that a hyphen, a space or a bracket marks: "978-0-14" ->
    "nine seven eight, zero, one four"."""
    groups = [g for g in re.split(r"[^\dXx]+", text) if g]
    return ", ".join(" ".join("ex" if d in "Xx" else _words(int(d)) for d in group) for group in groups)


def _decade(year: int) -> str:
    """1920s: "nineteen twenties"."""
    said = num2words(year, to="year")
    return said[:-1] + "ies" if said.endswith("y") else said + "s"


def _fraction(m: re.Match) -> str:
    top, bottom = int(m.group(1)), int(m.group(2))
    if bottom == 2:
        name = "half" if top == 1 else "halves"
    elif bottom == 4:
        name = "quarter" if top == 1 else "quarters"
    else:
        name = num2words(bottom, to="ordinal") + ("" if top == 1 else "s")
    return f"{_words(top)} {name}"


def _date_us(m: re.Match) -> str:
    month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group()
    return f"{MONTHS[month - 1]} {num2words(day, to='ordinal')}, {num2words(year, to='year')}"


UNITS = {"km": "kilometer", "m": "meter", "cm": "centimeter", "mm": "millimeter", "kg": "kilogram", "g": "gram",
         "mg": "milligram", "lb": "pound", "lbs": "pound", "oz": "ounce", "ft": "foot", "mi": "mile", "mph": "miles per hour",
         "km/h": "kilometers per hour", "kph": "kilometers per hour", "l": "liter", "ml": "milliliter", "kW": "kilowatt",
         "W": "watt", "V": "volt", "Hz": "hertz", "kHz": "kilohertz", "MHz": "megahertz", "GB": "gigabyte",
         "MB": "megabyte", "KB": "kilobyte", "TB": "terabyte", "\u00b0C": "degree Celsius", "\u00b0F": "degree Fahrenheit"}


def _unit(m: re.Match) -> str:
    amount, unit = m.group(1), UNITS[m.group(2)]
    one = amount in ("1", "1.0")
    if not one and not unit.endswith(("per hour", "hertz", "Celsius", "Fahrenheit")):
        unit = {"foot": "feet"}.get(unit, unit + "s")
    elif not one:
        unit = unit.replace("degree ", "degrees ")
    return f"{amount} {unit}"


ENGLISH_RULES: list[Rule] = [
    (re.compile(r"([=*_~#+\u2022])\1{2,}|\.{4,}|-{4,}"), " "),  # rules and dot leaders are decoration, not words
    (re.compile(r"https?://\S+[\w/]|www\.\S+[\w/]"), _url),
    (re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b"), _email),
    (re.compile(r"(?<!\w)(" + "|".join(map(re.escape, ABBREVIATIONS)) + r")(?=\s|$)"), lambda m: ABBREVIATIONS[m.group(1)]),
    (re.compile(r"\bSt\.(?=\s+[A-Z])"), "Saint"),
    (re.compile(r"\bSt\."), "Street"),
    (re.compile(r"\bNo\.\s*(?=\d)"), "number "),
    (re.compile(r"\b(Chapter|Book|Part|Volume|Act|Scene|Canto)\s+([IVXLCDM]+)\b", re.I), _heading_roman),
    (re.compile(r"\b([A-Z][a-z]+\.?)\s+([IVXLCDM]+)\b(?![\w'])"), _named_roman),
    (re.compile(r"\bISBN(?:-1[03])?:?\s*([\dXx][\d\s-]{8,}[\dXx])\b"), lambda m: f"I S B N {_digits(m.group(1))}"),
    (re.compile(r"\b97[89](?:-\d+){3}-[\dX]\b"), lambda m: _digits(m.group())),
    (re.compile(r"(?<![\w-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"), lambda m: _digits(m.group())),
    (re.compile(r"(?<![\w-])\+\d{1,3}(?:[\s.-]\d{2,4}){2,4}\b"), lambda m: _digits(m.group())),
    (re.compile(r"\b\d{3}-\d{4}\b"), lambda m: _digits(m.group())),
    (re.compile(r"\b\d{7,}\b"), lambda m: _digits(m.group())),  # an account, a serial: not one number
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), _date_us),
    (re.compile(r"(?<![\d/])\b(\d{1,2})/(\d{1,2})\b(?![/\d])"), _fraction),
    (re.compile(r"\b(\d+(?:\.\d+)?)\s?(" + "|".join(map(re.escape, sorted(UNITS, key=len, reverse=True))) + r")(?![\w/])"), _unit),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), _date_iso),
    (re.compile(r"(?P<sym>[$\u00a3\u20ac\u00a5])\s?(?P<whole>\d[\d,]*)(?:\.(?P<frac>\d+))?(?:\s(?P<scale>million|billion|trillion|thousand))?"), _currency),
    (re.compile(r"\b(\d{1,2}):(\d{2})\s?([ap]\.?m\.?)?(?=\W|$)", re.I), _time),
    (re.compile(r"\b(\d{1,2})\s?([ap])\.?m\.?(?=\W|$)", re.I), lambda m: f"{_words(int(m.group(1)))} {_meridiem(m, m.group(2))}"),
    (re.compile(r"\b(" + "|".join(MONTHS) + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b"), _month_day),
    (re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + "|".join(MONTHS) + r")\b"), _day_month),
    (re.compile(r"\b(\d+)(?:st|nd|rd|th)\b"), lambda m: num2words(int(m.group(1)), to="ordinal").replace(",", "")),
    (re.compile(r"\b(\d[\d,]*(?:\.\d+)?)\s?%"), lambda m: f"{m.group(1)} percent"),
    (re.compile(r"\b(\d[\d,.]*)\s?[\u2013-]\s?(\d[\d,.]*)\b"), _range),
    (re.compile(r"(\d)\s*[\u2013\u2014]\s*(\d)"), r"\1 to \2"),
    (re.compile(r"(?<![\w-])[-\u2212](?=\d)"), "minus "),
    (re.compile(r"\b(1[1-9]|20)([1-9]0)s\b"), lambda m: _decade(int(m.group(1) + m.group(2)))),
    (re.compile(r"\s*(?:\u2014|-{2,3}|\u2013)\s*"), ", "),
    (re.compile(r"\b(\d[\d,]*)\.(\d+)\b"), _decimal),
    (re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b"), _cardinal),
    (re.compile("[" + re.escape("".join(SYMBOLS)) + "]"), lambda m: SYMBOLS[m.group()]),
    (re.compile(r"\b([A-Z]{2,})('?s)?\b"), _capitals),
    (re.compile(r"[*_~`|<>{}\[\]\\^]"), " "),
]
