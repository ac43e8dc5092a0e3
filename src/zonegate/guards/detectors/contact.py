"""Dates of birth (in context) and postal addresses (where a pattern can find them).

A date on its own is not personal data; a date right after 'date of birth', 'DOB', 'born',
'geboren', 'né le' and the like is. Addresses are found from their street line: a house number
and street type in English, French, Spanish, Italian, Portuguese, German or Dutch order, then,
when present, the city, state and ZIP or postcode that follow.
"""

from __future__ import annotations

import re

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import BuiltinDetector, glued_after, glued_before
from zonegate.guards.detectors._scan import Run, lowered, number_runs, positions

# --- dates of birth -----------------------------------------------------------------------------

_BIRTH_HINTS = (
    "birth", "born", "dob", "d.o.b", "geb", "naiss", "né", "nacid", "nacim", "nascit", "nata",
    "nato",
    "geboorte", "nascid", "fødsel",
)  # fmt: skip
_BIRTH = re.compile(
    r"(?<![A-Za-z])(?:date[\s_-]*of[\s_-]*birth|birth[\s_-]*date|birthday|d\.?o\.?b\.?"
    r"|born(?:\s+on)?"
    r"|geboren(?:\s+(?:am|op))?|geb\.|geburtsdatum|geburtstag|n[ée]e?\s+le|date\s+de\s+naissance"
    r"|fecha\s+de\s+nacimiento|nacid[oa]\s+el|data\s+di\s+nascita|nat[oa]\s+il|geboortedatum"
    r"|data\s+de\s+nascimento|nascid[oa]\s+em)(?![A-Za-z])",
    re.IGNORECASE,
)
_MONTHS = (
    r"jan(?:uary|uar|vier|eiro)?|feb(?:ruary|ruar)?|f[ée]v(?:rier)?|fevereiro|m[äa]r(?:ch|z|s|zo)?"
    r"|apr(?:il)?|avr(?:il)?|abr(?:il)?|may|mai|mei|maio?|mayo|maggio|jun(?:e|i|io|ho)?|juin"
    r"|giugno|jul(?:y|i|io|ho)?|juil(?:let)?|luglio|aug(?:ust|ustus)?|ao[uû]t|ago(?:sto)?"
    r"|sep(?:t|tember|tiembre|tembro)?|set(?:tembre|embro)?|o[ck]t(?:ober|obre|ubre)?|out(?:ubro)?"
    r"|nov(?:ember|embre|iembre|embro)?|de[cz](?:ember|embre|iembre|embro)?|dic(?:iembre|embre)?"
    r"|ene(?:ro)?|gen(?:naio)?|marzo|ma[ar]t|mrt|okt|dez"
)
_DATE = re.compile(
    r"(?P<d1>[0-9]{1,2})[./-](?P<m1>[0-9]{1,2})[./-](?P<y1>[0-9]{4}|[0-9]{2})(?![0-9])"
    r"|(?P<y2>[0-9]{4})[./-](?P<m2>[0-9]{1,2})[./-](?P<d2>[0-9]{1,2})(?![0-9])"
    rf"|(?P<d3>[0-9]{{1,2}})(?:st|nd|rd|th|er|º)?\.?\s+(?:of\s+|de\s+)?(?:{_MONTHS})\.?,?\s+"
    r"(?:de\s+)?(?P<y3>[0-9]{4})"
    rf"|(?:{_MONTHS})\.?\s+(?P<d4>[0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y4>[0-9]{{4}})",
    re.IGNORECASE,
)
_BIRTH_WINDOW = 40


class DateOfBirthDetector(BuiltinDetector):
    """A date within a few words after a birth keyword; the finding is the date."""

    __slots__ = ()
    type = "date_of_birth"
    needs_digits = True

    def detect(self, text: str) -> list[Finding]:
        low = lowered(text)
        hints = sorted({i for hint in _BIRTH_HINTS for i in positions(low, hint)})
        found: list[Finding] = []
        last = -1
        for hint in hints:
            kw = _BIRTH.search(text, max(0, hint - 16, last), hint + 24)
            if kw is None or kw.end() <= last:
                continue
            last = kw.end()
            date = _DATE.search(text, kw.end(), kw.end() + _BIRTH_WINDOW)
            if date is None or not _plausible(date):
                continue
            if glued_before(text, date.start()) or glued_after(text, date.end()):
                continue
            found.append(self._finding(date.start(), date.end()))
            last = date.end()
        return found


def _plausible(date: re.Match[str]) -> bool:
    """A real calendar day (month 1-12 for numeric dates), born 1900 or later."""
    groups = date.groupdict()
    for d, m, y in (("d1", "m1", "y1"), ("d2", "m2", "y2"), ("d3", None, "y3"), ("d4", None, "y4")):
        if groups[d] is None:
            continue
        day, year = int(groups[d]), groups[y]
        month = int(groups[m]) if m is not None else 1
        if d == "d1" and month > 12 and day <= 12:
            day, month = month, day  # US order, 12/31/1980
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return False
        return len(year) == 2 or 1900 <= int(year) <= 2100
    return False


# --- postal addresses ---------------------------------------------------------------------------

_CAP = r"[A-Z\u00c0-\u00de][A-Za-z\u00c0-\u00ff'.-]*"
_EN_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Crescent|Close|Grove|Gardens|Mews"
    r"|Row|Walk|Trail|Alley|Plaza|Park|Hill"
)
_UNIT = (
    r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|#)\.?\s*#?[0-9A-Za-z-]{1,6})?"
)
_US_TAIL = rf",?\s+(?:{_CAP}\s?){{1,3}},?\s+[A-Z]{{2}}\s+[0-9]{{5}}(?:-[0-9]{{4}})?(?![0-9])"
_UK_POSTCODE = r"[A-Z]{1,2}[0-9][A-Z0-9]?\s?[0-9][ABD-HJLNP-UW-Z]{2}"
_UK_TAIL = rf",?\s+(?:{_CAP}\s?){{0,3}},?\s*{_UK_POSTCODE}(?![A-Za-z0-9])"
_ENGLISH = re.compile(
    rf"[0-9]{{1,5}}[A-Za-z]?(?:-[0-9]{{1,5}})?,?\s+(?:{_CAP}\s+){{1,4}}(?:{_EN_TYPES})\b\.?"
    rf"(?:\s(?:N|S|E|W|NE|NW|SE|SW)\b)?{_UNIT}(?:{_US_TAIL}|{_UK_TAIL})?"
)
# German and Dutch: the street type is part of the name ("Hauptstraße 5", "Kalverstraat 12").
_SUFFIX_TYPES = (
    r"stra(?:ß|ss)e|str\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee|straat|laan|plein"
    r"|gracht|kade|singel|dijk|steeg"
)
_GERMANIC = re.compile(
    rf"(?:{_CAP}(?:{_SUFFIX_TYPES})|{_CAP}\s(?:Stra(?:ß|ss)e|Str\.|Weg|Allee|Platz|Gasse|Ring))"
    r"\s?[0-9]{1,4}\s?[a-z]?(?![A-Za-z0-9])"
    rf"(?:,?\s+[0-9]{{4,5}}(?:\s?[A-Z]{{2}})?\s+{_CAP}(?:\s{_CAP})?)?"
)
# French: number first ("12 rue de la Paix, 75002 Paris"); Spanish, Italian and Portuguese: the
# street type first and the number after the name ("Calle Mayor 5", "Via Roma 10").
_FRENCH = re.compile(
    r"[0-9]{1,4}(?:\s?(?:bis|ter))?,?\s(?:rue|avenue|av\.|boulevard|bd|place|chemin|all[ée]e"
    r"|impasse|quai|route|cours)\s(?:(?:de|du|des|la|le|l'|d')\s?)*"
    rf"{_CAP}(?:\s{_CAP}){{0,3}}(?:,?\s+[0-9]{{5}}\s+{_CAP}(?:\s{_CAP})?)?",
    re.IGNORECASE,
)
_SOUTHERN = re.compile(
    r"(?:Calle|C/|Avenida|Avda\.|Plaza|Paseo|Carrer|Via|Viale|Piazza|Corso|Vicolo|Rua|Travessa"
    r"|Largo)\s(?:(?:de|del|la|los|las|dos|das|do|da|di|della)\s)*"
    rf"{_CAP}(?:\s{_CAP}){{0,3}},?\s(?:n\.?[º°o]\.?\s?)?[0-9]{{1,4}}(?![0-9])"
    rf"(?:,?\s+[0-9]{{4,5}}(?:-[0-9]{{3}})?\s+{_CAP}(?:\s{_CAP})?)?"
)
_AFTER_NUMBER = frozenset(" ,ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_FRENCH_INITIALS = frozenset("rRaAbBpPcCiIqQtT")
_FRENCH_TYPES = (
    "rue ", "avenue ", "av. ", "boulevard ", "bd ", "place ", "chemin ", "allée ", "allee ",
    "impasse ", "quai ", "route ", "cours ", "bis ", "ter ",
)  # fmt: skip
_NUMBER_MARKS = ("n.º", "nº", "n°", "no.", "nr.", "n.")
_SUFFIX_ENDINGS = (
    "straße", "strasse", "str.", "weg", "allee", "platz", "gasse", "ring", "damm", "ufer",
    "chaussee", "straat", "laan", "plein", "gracht", "kade", "singel", "dijk", "steeg",
)  # fmt: skip
_STREET_WORDS = frozenset(
    {
        "calle", "c/", "avenida", "avda.", "plaza", "paseo", "carrer", "via", "viale", "piazza",
        "corso", "vicolo", "rua", "travessa", "largo", "straße", "strasse", "str.", "weg",
        "allee", "platz", "gasse", "ring",
    }
)  # fmt: skip


class PostalAddressDetector(BuiltinDetector):
    """Street addresses with a house number, and the city / ZIP / postcode that follow them."""

    __slots__ = ()
    type = "postal_address"
    needs_digits = True

    def detect(self, text: str) -> list[Finding]:
        spans: list[tuple[int, int]] = []
        for run in number_runs(text).with_digits(1, 5):
            span = _address_at(text, run)
            if span is not None:
                spans.append(span)
        if not spans:
            return []
        spans.sort()
        merged = [spans[0]]
        for start, end in spans[1:]:
            if start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            elif start != merged[-1][0]:
                merged.append((start, end))
        return [self._finding(start, end) for start, end in merged]


def _address_at(text: str, run: Run) -> tuple[int, int] | None:
    """The address this number is the house number of, if any (cheap checks first)."""
    start, end = run.start, run.end
    if glued_before(text, start):
        return None
    after = text[end : end + 14]
    if after[:1] in _AFTER_NUMBER:
        # "221B Baker Street" / "12 rue de la Paix": the number comes first.
        following = after.lstrip(" ,")
        if following[:1].isupper() or after[1:2].isupper():
            m = _ENGLISH.match(text, start)
            if m is not None:
                return _trimmed(text, m.start(), m.end())
        if following[:1] in _FRENCH_INITIALS and following.lower().startswith(_FRENCH_TYPES):
            m = _FRENCH.match(text, start)
            if m is not None:
                return _trimmed(text, m.start(), m.end())
    # "Hauptstraße 5" / "Calle Mayor 5": the number comes after a capitalised street name.
    if start < 3 or text[start - 1] not in " ,":
        return None
    word_start = text.rfind(" ", max(0, start - 48), start - 1) + 1
    previous = text[word_start:start].rstrip(" ,")
    if previous.lower() in _NUMBER_MARKS:
        word_start = text.rfind(" ", max(0, word_start - 48), max(0, word_start - 1)) + 1
        previous = text[word_start:start].split(" ", 1)[0].rstrip(" ,")
    if not previous[:1].isupper():
        return None
    before = text[max(0, start - 64) : start]
    if previous.lower().endswith(_SUFFIX_ENDINGS) or not _STREET_WORDS.isdisjoint(
        before.lower().split()
    ):
        for pattern in (_GERMANIC, _SOUTHERN):
            for m in pattern.finditer(text, max(0, start - 64), min(len(text), end + 48)):
                if m.start() < start < m.end():
                    return _trimmed(text, m.start(), m.end())
    return None


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in " ,.":
        end -= 1
    return start, end
