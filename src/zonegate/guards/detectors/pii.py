"""Personal data detectors: email addresses, payment cards, IBANs.

Each pattern is compiled once, at import. Matches must stand alone (no finding inside a longer
token), and numbers must pass their checksum, so order numbers and ids are not reported.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from stdnum import iban as stdnum_iban, numdb

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import WORD_CHARS, BuiltinDetector
from zonegate.guards.detectors._scan import number_runs, positions

# An address is found from its '@' (a fast substring search): the local part is read leftwards,
# the domain matched rightwards.
_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_LOCAL = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*")
_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9_-])"
)
_LOCAL_MAX = 64

# A run of digit groups separated by single spaces, dashes or dots. The pattern starts with a
# character class (so the regex engine can skip ahead fast); what the run touches is checked
# after. A card is a whole run, or a window of whole groups inside one ("4111 1111 1111 1111 123"
# with its CVV).
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ .-][0-9]+)*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_CARD_SEPARATORS = str.maketrans("", "", " .-")
_CARD_GROUP_SPLIT = re.compile(r"[ .-]")
_CARD_MIN, _CARD_MAX = 12, 19
_MIN_GROUP = 3
_ISSUER_DIGITS = frozenset("123456")
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_MAESTRO = ("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763")

_IBAN = re.compile(r"[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}")

# Total IBAN length per country (SWIFT IBAN registry): where an IBAN written in groups ends.
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


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _LUHN_DOUBLED[d] if i & 1 else d
    return total % 10 == 0


def card_issuer_known(digits: str) -> bool:
    """Whether the number starts with a prefix assigned to a major card network."""
    return _card_lengths(digits) != ()


def _card_lengths(digits: str) -> tuple[int, ...]:
    """The lengths a card number with this prefix may have; () for no known network."""
    if digits[0] == "4":  # Visa
        return (13, 16, 19)
    p2, p3, p4 = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[:4] in _MAESTRO:
        return tuple(range(12, 20))
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return (16,)
    if p2 in (34, 37):  # American Express
        return (15,)
    if p4 == 6011 or p2 == 65 or 644 <= p3 <= 649:  # Discover
        return (16, 17, 18, 19)
    if 3528 <= p4 <= 3589:  # JCB
        return (16, 17, 18, 19)
    if p4 in (2131, 1800):  # JCB, older 15-digit numbers
        return (15,)
    if p2 in (36, 38, 39) or 300 <= p3 <= 305:  # Diners Club
        return (14, 15, 16, 17, 18, 19)
    if p2 == 62:  # UnionPay
        return (16, 17, 18, 19)
    return ()


def _is_card(digits: str) -> bool:
    return len(digits) in _card_lengths(digits) and luhn_valid(digits)


def iban_valid(iban: str) -> bool:
    """Country format and ISO 13616 mod-97 check of an IBAN, as python-stdnum's
    ``iban.is_valid`` decides it.

    stdnum spends ~17 us on a valid IBAN, most of it looking the country up in its registry;
    the mod-97 check and the country's BBAN structure (read from that registry once, at import)
    take ~2 us. Anything else, and the countries with rules of their own, go to stdnum itself.
    """
    value = iban.upper()
    bban = _BBAN.get(value[:2])
    if bban is None or not (value.isascii() and value.isalnum()):
        return bool(stdnum_iban.is_valid(iban))
    if int((value[4:] + value[:4]).translate(_BASE36)) % 97 != 1:
        return False
    if bban.fullmatch(value, 4) is None:
        return False
    return value[:2] not in IBAN_COUNTRY_RULES or bool(stdnum_iban.is_valid(value))


def _bban_pattern(country: str) -> re.Pattern[str] | None:
    """The BBAN structure of a country in stdnum's IBAN registry ('4!a6!n8!n'), as a pattern."""
    structure = _IBAN_REGISTRY.info(country)[0][1].get("bban")
    if not structure:
        return None
    kinds = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}
    parts = _BBAN_PART.findall(structure)
    if "".join(f"{n}!{k}" for n, k in parts) != structure:
        return None  # a structure this reading does not cover: leave it to stdnum
    return re.compile("".join(f"{kinds[k]}{{{n}}}" for n, k in parts))


_IBAN_REGISTRY = numdb.get("iban")
_BBAN_PART = re.compile(r"([1-9][0-9]*)!([nac])")
_BBAN = MappingProxyType(
    {cc: pattern for cc in _IBAN_LENGTHS if (pattern := _bban_pattern(cc)) is not None}
)
_BASE36 = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})
# Countries whose IBANs stdnum also checks with a national module (stdnum.<cc>.iban); a test
# keeps this list in step with the installed stdnum.
IBAN_COUNTRY_RULES = frozenset({"BE", "ES", "ME", "NO"})


class EmailDetector(BuiltinDetector):
    """Email addresses (ASCII local part and domain, with a letter top-level domain), also
    percent-encoded (``jane%40example.com``), as they appear in URLs and query strings."""

    __slots__ = ()
    type = "email"

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        for sign in ("@", "%40"):
            if sign in text:
                found.extend(self._around(text, sign))
        if len(found) > 1:
            found.sort(key=lambda f: f.start)
        return found

    def _around(self, text: str, sign: str) -> list[Finding]:
        found: list[Finding] = []
        for at in positions(text, sign):
            start = at
            while start > 0 and at - start < _LOCAL_MAX and text[start - 1] in _LOCAL_CHARS:
                start -= 1
            if start == at or (start > 0 and text[start - 1] in _LOCAL_CHARS):
                continue
            if _LOCAL.fullmatch(text, start, at) is None:
                continue
            domain = _DOMAIN.match(text, at + len(sign))
            if domain is not None:
                found.append(self._finding(start, domain.end()))
        return found


class PaymentCardDetector(BuiltinDetector):
    """Payment card numbers: a known network's prefix and length, and a valid Luhn checksum.

    Groups may be separated by single spaces, dashes or dots; a dotted run must be made of
    groups of three or more digits, so decimals are not read as cards.
    """

    __slots__ = ()
    type = "payment_card"
    needs_digits = True

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        for number in number_runs(text).with_digits(_CARD_MIN, 10_000):
            found.extend(self._in_run(text, number.start, number.end))
        found.sort(key=lambda f: f.start)
        return found

    def _in_run(self, text: str, run_start: int, run_end: int) -> list[Finding]:
        found: list[Finding] = []
        for m in _DIGIT_RUN.finditer(text, run_start, run_end):
            run = m.group()
            if len(run) < _CARD_MIN:
                continue
            start, end = m.start(), m.end()
            if start > 0:
                before = text[start - 1]
                if before in "-." and start > 1 and text[start - 2].isdigit():
                    continue  # the tail of a dash-joined id
                if before in WORD_CHARS:
                    cut = run.find(" ")
                    if cut <= 0:
                        continue
                    run, start = run[cut + 1 :], start + cut + 1  # drop the glued first group
            if end < len(text) and text[end] in WORD_CHARS:
                cut = max(run.rfind(" "), run.rfind("-"), run.rfind("."))
                if cut <= 0:
                    continue
                run, end = run[:cut], start + cut  # drop the group glued to what follows
            if len(run) < _CARD_MIN:
                continue
            found.extend(_cards_in_run(run, start, end, self))
        return found


def _cards_in_run(run: str, start: int, end: int, detector: PaymentCardDetector) -> list[Finding]:
    digits = run.translate(_CARD_SEPARATORS)
    if "." in run and any(len(g) < _MIN_GROUP for g in _CARD_GROUP_SPLIT.split(run)):
        return []  # a decimal number, a version or a date, not a card
    if _CARD_MIN <= len(digits) <= _CARD_MAX and _is_card(digits):
        return [detector._finding(start, end)]
    if len(digits) == len(run):
        return []
    return [detector._finding(s, e) for s, e in _card_windows(run, start)]


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
    """IBANs, compact or in space-separated groups, in upper or lower case, checked by
    python-stdnum (the country's length and format, and mod-97)."""

    __slots__ = ()
    type = "iban"
    needs_digits = True

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        pos = 0
        for number in number_runs(text).all:
            start = number.start - 2  # the country code comes right before the check digits
            if start < pos or not (text[start].isalpha() and text[start + 1].isalpha()):
                continue
            m = _IBAN.match(text, start)
            if m is None:
                continue
            end = _iban_end(text, m)
            if end is not None:
                found.append(self._finding(start, end))
                pos = end
        return found


def _iban_end(text: str, m: re.Match[str]) -> int | None:
    """Where a valid IBAN starting at ``m`` ends, or None. The match may run into later words."""
    start = m.start()
    if start > 0 and text[start - 1] in WORD_CHARS:
        return None
    head = m.group()[:2]
    if not (head.isupper() or head.islower()):
        return None
    length = _IBAN_LENGTHS.get(head.upper())
    if length is None:
        return None
    group = m.group()
    value = group.replace(" ", "")[:length]
    if len(value) < length:
        return None
    end = length  # in the match: one further for each space before the last character
    space = group.find(" ")
    while 0 <= space < end:
        end += 1
        space = group.find(" ", space + 1)
    end += start
    if end < len(text) and text[end].isalnum():
        return None
    if not (value.isupper() or value.islower() or value[2:].isdigit()):
        return None  # mixed case is prose, not an IBAN
    return end if iban_valid(value) else None
