"""Personal data detectors: email addresses, payment cards, IBANs, US social security numbers.

Each pattern is compiled once, at import. Matches must stand alone (no finding inside a longer
token), and numbers must pass their checksum, so order numbers and ids are not reported.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import BuiltinDetector

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])"
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"(?![A-Za-z0-9_-])"
)

# A run of digit groups separated by single spaces or dashes, not glued to a word or to a longer
# dash-joined number. A card is a whole run, or a window of whole groups inside one
# ("4111 1111 1111 1111 123" with its CVV).
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z_])(?<![0-9]-)[0-9]+(?:[ -][0-9]+)*(?![0-9A-Za-z_])")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_CARD_SEPARATORS = str.maketrans("", "", " -")
_CARD_MIN, _CARD_MAX = 13, 19
_MIN_GROUP = 3
_ISSUER_DIGITS = frozenset("23456")
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}")

# Total IBAN length per country (SWIFT IBAN registry); an unknown country is not an IBAN.
_IBAN_LENGTHS = MappingProxyType(
    {
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
        "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
        "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
        "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
        "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
        "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
        "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
        "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
        "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
        "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
        "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    }
)  # fmt: skip
_IBAN_LETTERS = MappingProxyType({ord(c): str(ord(c) - 55) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})

# Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
_SSN = re.compile(
    r"(?<![A-Za-z0-9_-])"
    r"(?!000|666|9[0-9]{2})[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}"
    r"(?![A-Za-z0-9_-])"
)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _LUHN_DOUBLED[d] if i & 1 else d
    return total % 10 == 0


def card_issuer_known(digits: str) -> bool:
    """Whether the number starts with a prefix assigned to a major card network."""
    if digits[0] == "4":  # Visa
        return True
    p2, p3, p4 = int(digits[:2]), int(digits[:3]), int(digits[:4])
    return (
        51 <= p2 <= 55  # Mastercard
        or 2221 <= p4 <= 2720  # Mastercard 2-series
        or p2 in (34, 37)  # American Express
        or p4 == 6011  # Discover
        or p2 == 65
        or 644 <= p3 <= 649
        or 3528 <= p4 <= 3589  # JCB
        or p2 in (36, 38)  # Diners Club
        or 300 <= p3 <= 305
        or p2 == 62  # UnionPay
    )


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of a compact, upper-case IBAN."""
    rearranged = (iban[4:] + iban[:4]).translate(_IBAN_LETTERS)
    return int(rearranged) % 97 == 1


class EmailDetector(BuiltinDetector):
    """Email addresses (ASCII local part and domain, with a letter top-level domain)."""

    __slots__ = ()
    type = "email"

    def detect(self, text: str) -> list[Finding]:
        if "@" not in text:
            return []
        return [self._finding(m.start(), m.end()) for m in _EMAIL.finditer(text)]


class PaymentCardDetector(BuiltinDetector):
    """Payment card numbers: 13-19 digits, a known issuer prefix, and a valid Luhn checksum."""

    __slots__ = ()
    type = "payment_card"

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        for m in _DIGIT_RUN.finditer(text):
            run = m.group()
            if len(run) < _CARD_MIN:
                continue
            digits = run.translate(_CARD_SEPARATORS)
            if _CARD_MIN <= len(digits) <= _CARD_MAX and _is_card(digits):
                found.append(self._finding(m.start(), m.end()))
            elif len(digits) != len(run):
                found.extend(self._finding(s, e) for s, e in _card_windows(run, m.start()))
        return found


def _is_card(digits: str) -> bool:
    return card_issuer_known(digits) and luhn_valid(digits)


def _card_windows(run: str, offset: int) -> list[tuple[int, int]]:
    """Spans of the longest valid card numbers made of whole groups inside ``run``.

    Only groups of three or more digits join a window (cards are written in groups of 3-6), and
    a window must start with an issuer digit: that keeps long digit tables linear and cheap.
    """
    groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(run)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        best = -1
        if run[groups[i][0]] in _ISSUER_DIGITS:
            size = 0
            for j in range(i, len(groups)):
                start, end = groups[j]
                if end - start < _MIN_GROUP:
                    break
                size += end - start
                if size > _CARD_MAX:
                    break
                if size >= _CARD_MIN and _is_card(
                    run[groups[i][0] : end].translate(_CARD_SEPARATORS)
                ):
                    best = j
        if best < 0:
            i += 1
            continue
        spans.append((offset + groups[i][0], offset + groups[best][1]))
        i = best + 1
    return spans


class IbanDetector(BuiltinDetector):
    """IBANs, compact or in space-separated groups, with the country's length and mod-97."""

    __slots__ = ()
    type = "iban"

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        pos = 0
        while (m := _IBAN.search(text, pos)) is not None:
            end = _iban_end(text, m)
            if end is None:
                pos = m.start() + 1
                continue
            found.append(self._finding(m.start(), end))
            pos = end
        return found


def _iban_end(text: str, m: re.Match[str]) -> int | None:
    """Where a valid IBAN starting at ``m`` ends, or None. The match may run into later words."""
    length = _IBAN_LENGTHS.get(m.group()[:2])
    if length is None:
        return None
    compact: list[str] = []
    end = m.start()
    for i, ch in enumerate(m.group()):
        if ch != " ":
            compact.append(ch)
            if len(compact) == length:
                end = m.start() + i + 1
                break
    else:
        return None
    if end < len(text) and text[end].isalnum():
        return None
    return end if iban_valid("".join(compact)) else None


class UsSsnDetector(BuiltinDetector):
    """US social security numbers written NNN-NN-NNNN, excluding ranges never issued."""

    __slots__ = ()
    type = "us_ssn"

    def detect(self, text: str) -> list[Finding]:
        if "-" not in text:
            return []
        return [self._finding(m.start(), m.end()) for m in _SSN.finditer(text)]
