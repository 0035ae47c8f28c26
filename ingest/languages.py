"""Normalization rules for the languages other than English: what a narrator says for numbers, dates, times,
ordinals, units, titles, roman numerals and initialisms, with num2words saying the numbers in the language.

Each language's words are in one table (`WORDS`); a language without an entry gets numbers in words (where
num2words knows it), day-first dates and initialisms, and keeps the rest as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

Rule = tuple[re.Pattern, Callable[[re.Match], str] | str]
ROMAN = re.compile(r"^(?=[MDCLXVI])M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")
UPPER = "A-ZÀ-ÖØ-Þ"
LOWER = "a-zß-öø-ÿ"


def roman_to_int(text: str) -> int | None:
    if not text or not ROMAN.match(text.upper()):
        return None
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for a, b in zip(text.upper(), text.upper()[1:] + " "):
        total += -values[a] if values.get(b, 0) > values[a] else values[a]
    return total


WORDS: dict[str, dict[str, object]] = {
    "fr": {
        "percent": "pour cent", "minus": "moins",
        "months": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "titles": {"M.": "Monsieur", "MM.": "Messieurs", "Mme": "Madame", "Mmes": "Mesdames", "Mlle": "Mademoiselle",
                   "Dr": "docteur", "Pr": "professeur", "St": "Saint", "Ste": "Sainte", "etc.": "et cetera"},
        "numbered": "chapitre livre partie tome acte scène chant volume",
        "units": {"km": "kilomètres", "m": "mètres", "cm": "centimètres", "mm": "millimètres", "kg": "kilogrammes",
                  "g": "grammes", "l": "litres", "km/h": "kilomètres à l'heure"},
        "time": "{h} heures {m}",
    },
    "de": {
        "percent": "Prozent", "minus": "minus",
        "months": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
        "titles": {"Dr.": "Doktor", "Prof.": "Professor", "Hr.": "Herr", "Fr.": "Frau", "St.": "Sankt",
                   "z. B.": "zum Beispiel", "usw.": "und so weiter", "bzw.": "beziehungsweise", "d. h.": "das heißt",
                   "Nr.": "Nummer", "ca.": "circa"},
        "numbered": "Kapitel Buch Teil Band Akt Szene Gesang",
        "units": {"km": "Kilometer", "m": "Meter", "cm": "Zentimeter", "mm": "Millimeter", "kg": "Kilogramm",
                  "g": "Gramm", "l": "Liter", "km/h": "Kilometer pro Stunde"},
        "time": "{h} Uhr {m}",
    },
    "es": {
        "percent": "por ciento", "minus": "menos",
        "months": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
        "titles": {"Sr.": "señor", "Sra.": "señora", "Srta.": "señorita", "Dr.": "doctor", "Dra.": "doctora",
                   "D.": "don", "Dña.": "doña", "Ud.": "usted", "Uds.": "ustedes", "etc.": "etcétera"},
        "numbered": "capítulo libro parte tomo acto escena canto volumen siglo",
        "units": {"km": "kilómetros", "m": "metros", "cm": "centímetros", "mm": "milímetros", "kg": "kilogramos",
                  "g": "gramos", "l": "litros", "km/h": "kilómetros por hora"},
        "time": "{h} y {m}", "date": "{d} de {month} de {y}",
    },
    "it": {
        "percent": "per cento", "minus": "meno",
        "months": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
        "titles": {"Sig.": "signor", "Sig.ra": "signora", "Sig.na": "signorina", "Dott.": "dottor",
                   "Dott.ssa": "dottoressa", "Prof.": "professor", "Avv.": "avvocato", "S.": "San", "ecc.": "eccetera"},
        "numbered": "capitolo libro parte tomo atto scena canto volume",
        "units": {"km": "chilometri", "m": "metri", "cm": "centimetri", "mm": "millimetri", "kg": "chilogrammi",
                  "g": "grammi", "l": "litri", "km/h": "chilometri orari"},
        "time": "{h} e {m}",
    },
    "pt": {
        "percent": "por cento", "minus": "menos",
        "months": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
        "titles": {"Sr.": "senhor", "Sra.": "senhora", "Dr.": "doutor", "Dra.": "doutora", "etc.": "et cetera"},
        "numbered": "capítulo livro parte tomo ato cena canto volume século",
        "units": {"km": "quilômetros", "m": "metros", "cm": "centímetros", "kg": "quilogramas", "g": "gramas",
                  "l": "litros"},
        "time": "{h} e {m}", "date": "{d} de {month} de {y}",
    },
    "nl": {"percent": "procent", "minus": "min",
           "months": "januari februari maart april mei juni juli augustus september oktober november december"},
}
COMMA = {"fr": "virgule", "de": "Komma", "es": "coma", "it": "virgola", "pt": "vírgula", "nl": "komma"}
CURRENCY_CODES = {"\u20ac": "EUR", "$": "USD", "\u00a3": "GBP"}
AMOUNT = r"(\d+(?:[.,]\d{1,2})?)"
# A German ordinal after these words takes the dative's -n: "am achtundzwanzigsten", "im dritten Stock".
GERMAN_DATIVE = "am im vom zum beim dem den des"


def fixed(said: str, lang: str) -> str:
    """num2words' Italian joins 18 onto a thousand without its "i" ("millenovecentodicotto")."""
    return said.replace("dicotto", "diciotto") if lang.startswith("it") else said


def say(value: int | float, lang: str, to: str = "cardinal") -> str:
    try:
        return fixed(num2words(value, lang=lang, to=to), lang)
    except NotImplementedError:
        return fixed(num2words(value, lang=lang), lang)


def language_rules(lang: str) -> list[Rule]:
    """The language's rules, in order: titles, numbered words and rulers' numerals, dates, times, money,
    percentages, ordinals, units, grouped thousands, decimals, signs; bare numbers come after (the caller's)."""
    base = lang[:2]
    words = WORDS.get(base, {})
    months = str(words.get("months", "")).split()

    def value(text: str) -> float | int:
        return float(text.replace(",", ".")) if re.search(r"[.,]", text) else int(text)

    def money(amount: str, symbol: str) -> str:
        try:
            said = num2words(float(value(amount)), lang=lang, to="currency", currency=CURRENCY_CODES[symbol])
        except (NotImplementedError, KeyError, TypeError):
            return f"{say(value(amount), lang)} {symbol}"
        zero = num2words(0, lang=lang)  # a whole amount: "cinq euros", not "cinq euros et zéro centimes"
        return fixed(re.sub(rf"(?:,|\s+[^\s,]+)\s+{re.escape(zero)}\s+\S+$", "", said), lang)

    def date(m: re.Match) -> str:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not (1 <= day <= 31 and 1 <= month <= 12) or not months:
            return m.group(0)
        said_year = say(year, lang, "year")
        if base == "de":  # the day an ordinal, in the form it takes after "am", "vom", "bis zum"
            return f"{say(day, lang, 'ordinal')}n {months[month - 1]} {said_year}"
        pattern = str(words.get("date", "{d} {month} {y}"))
        return pattern.format(d=say(day, lang), month=months[month - 1], y=said_year)

    def time(m: re.Match) -> str:
        hour, minute = int(m.group(1)), int(m.group(2))
        pattern = str(words.get("time", "{h} {m}"))
        if minute == 0:
            return pattern.split("{m}")[0].format(h=say(hour, lang)).strip()
        return pattern.format(h=say(hour, lang), m=say(minute, lang))

    def decimal(m: re.Match) -> str:
        """ "3,75": "trois virgule soixante-quinze", the decimals one number as these languages say them (German
        says them digit by digit); a leading zero is said ("3,05": "... zéro cinq")."""
        whole, part = m.group(1), m.group(2)
        if base not in COMMA:
            return say(value(f"{whole},{part}"), lang)
        zeros = len(part) - len(part.lstrip("0"))
        if base == "de" or not part.strip("0"):
            spoken = " ".join(say(int(d), lang) for d in part)
        else:
            spoken = " ".join([say(0, lang)] * zeros + [say(int(part), lang)])
        return f"{say(int(whole), lang)} {COMMA[base]} {spoken}"

    def german_ordinal(m: re.Match) -> str:
        before = m.string[:m.start()].split()
        dative = bool(before) and before[-1].lower() in GERMAN_DATIVE.split()
        return say(int(m.group(1)), lang, "ordinal") + ("n" if dative else "")

    def numbered(m: re.Match) -> str:
        return f"{m.group(1)} {say(roman_to_int(m.group(2)), lang)}"

    def ordinal(m: re.Match) -> str:
        number = int(m.group(1)) if m.group(1).isdigit() else roman_to_int(m.group(1))
        if not number:
            return m.group()
        said = say(number, lang, "ordinal")
        if base == "fr" and number == 1:
            said = "première" if m.group(2).startswith("r") else "premier"
        if base in ("es", "it", "pt") and m.group(2) in ("ª", "a", ".ª"):
            said = said[:-1] + "a"
        if base == "es" and m.group(2) in (".er", "er"):
            said = {1: "primer", 3: "tercer"}.get(number, said)
        return said

    rules: list[Rule] = []
    if titles := words.get("titles"):
        alternatives = "|".join(map(re.escape, sorted(titles, key=len, reverse=True)))
        rules.append((re.compile(rf"(?<![\w.])({alternatives})(?=\s|$)"), lambda m: titles[m.group(1)]))
    if named := str(words.get("numbered", "")):
        rules.append((re.compile(rf"\b({'|'.join(named.split())})\s+([IVXLCDM]+)\b", re.I),
                      lambda m: numbered(m) if roman_to_int(m.group(2)) else m.group()))
    rules.append((re.compile(rf"\b([{UPPER}][{LOWER}]+)\s+([IVXLCDM]+)(\.?)(?=\s|[,;:!?]|$)(?![\w'])"),
                  lambda m: _ruler(m, lang)))
    rules += [
        (re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b"), date),
        (re.compile(r"\b(\d{1,2})(?::|\s?h\s?)(\d{2})\b(?:\s?Uhr\b)?"), time),
        (re.compile(rf"{AMOUNT}\s?([\u20ac$\u00a3])"), lambda m: money(m.group(1), m.group(2))),
        (re.compile(rf"([\u20ac$\u00a3])\s?{AMOUNT}"), lambda m: money(m.group(2), m.group(1))),
    ]
    if base == "fr":
        rules.append((re.compile(r"\b(\d+|[IVXLCDM]{2,}|I(?=r?e))(er|re|e|ème|eme)\b"), ordinal))
    elif base == "de":
        rules.append((re.compile(rf"\b(\d{{1,3}})\.(?=\s+[{UPPER}])"), german_ordinal))
    elif base in ("es", "pt"):
        rules.append((re.compile(r"\b(\d+)(\.er|\.º|\.ª|º|ª|\.o|\.a)(?!\w)"), ordinal))
    elif base == "it":
        rules.append((re.compile(r"\b(\d+)(°|º|ª)"), ordinal))
        rules.append((re.compile(r"\b([IVXLCDM]{2,})(?=\s+secol[oi]\b)"),
                      lambda m: say(roman_to_int(m.group(1)), lang, "ordinal") if roman_to_int(m.group(1)) else m.group()))
    if base in WORDS and "percent" in words:
        rules.insert(0, (re.compile(r"(\d+)(?:,(\d+))?\s?%"),
                         lambda m: f"{decimal(m) if m.group(2) else say(int(m.group(1)), lang)} {words['percent']}"))
    if units := words.get("units"):
        alternatives = "|".join(map(re.escape, sorted(units, key=len, reverse=True)))
        rules.append((re.compile(rf"\b(\d+(?:,\d+)?)\s?({alternatives})(?![\w/])"),
                      lambda m: f"{m.group(1)} {units[m.group(2)]}"))
    rules += [
        (re.compile(r"\b\d{1,3}(?:[ .\u202f\u00a0]\d{3})+\b"), lambda m: say(int(re.sub(r"\D", "", m.group())), lang)),
        (re.compile(r"(\d+),(\d+)"), decimal),
    ]
    if minus := words.get("minus"):
        rules.append((re.compile(r"(?<![\w-])[-\u2212](?=\d)"), f"{minus} "))
    return rules


def _ruler(m: re.Match, lang: str) -> str:
    """A ruler's numeral as the language says it: "Louis XIV" -> "Louis quatorze" (French: cardinals but for
    "premier"), "Felipe II" -> "Felipe segundo" (Spanish, Italian, Portuguese: ordinals to ten), "Heinrich
    VIII." -> "Heinrich der Achte" (German). "Ier" is French's "the First"."""
    name, numeral, stop = m.group(1), m.group(2), m.group(3)
    value = roman_to_int(numeral)
    if not value or numeral == "I" and len(name) < 3:
        return m.group()
    base = lang[:2]
    end = stop if stop and re.match(r"\s*$", m.string[m.end():]) else ""  # "VIII." ends the sentence too
    if base == "de":
        return f"{name} der {say(value, lang, 'ordinal').capitalize()}{end}"
    if base == "fr":
        return f"{name} {'premier' if value == 1 else say(value, lang)}{stop}"
    if base in ("es", "it", "pt") and value <= 10:
        return f"{name} {say(value, lang, 'ordinal')}{stop}"
    return f"{name} {say(value, lang)}{stop}"


def beside_capitals(m: re.Match, capitals: str, joined: str = "") -> bool:
    """Whether the word matched stands among other words in capitals (a heading, a shout): the word before
    or after it is one of `capitals` (a pattern); `joined` is what may join the next word ("CD-ROM")."""
    before = re.search(r"(\S+)\s+$", m.string[:m.start()])
    after = re.match(rf"\s*{joined}\s*(\S+)", m.string[m.end():])
    return any(w and re.fullmatch(rf"\W*(?:{capitals})\W*", w.group(1)) for w in (before, after))


def as_word(word: str, m: re.Match) -> str:
    """A word in capitals read as a word: in lower case, but for a sentence's first word, which keeps its capital."""
    starts = re.search(r"(?:^|[.!?:]\W*\s)\W*$", m.string[:m.start()])
    return word.capitalize() if starts else word.lower()


def capitals(m: re.Match) -> str:
    """Capitals in a language without a pronouncing dictionary here: a short word alone among lower-case words
    is an initialism ("la SNCF", "die EU"), spelled; among other capitals (a heading) a word, in lower case."""
    word, plural = m.group(1), m.group(2) or ""
    if roman_to_int(word) and len(word) > 1:  # a numeral no rule said ("XIXe"): left to the reader
        return m.group()
    if len(word) <= 4 and not beside_capitals(m, rf"[{UPPER}]{{2,}}"):
        return " ".join(word) + plural
    return as_word(word, m) + plural


CAPITALS: Rule = (re.compile(rf"\b([{UPPER}]{{2,}})(s)?\b"), capitals)
