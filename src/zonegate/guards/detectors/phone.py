"""Phone numbers, national and international, validated by ``phonenumbers`` (libphonenumber).

Validation is the expensive part (about 20 us a try), so candidates are filtered first: a run of
7 to 15 digits with phone punctuation, not glued to a longer token, not shaped like a date, a
decimal, an IP address, a year range, an SSN, a grouped amount, a card or an ISBN. A number with
a ``+`` or ``00`` country prefix is checked once; a national number is tried against the regions
of ``REGIONS`` whose numbers can have its length, and must be written with separators or
brackets, or stand next to a word such as 'phone' or 'tel'. Germany accepts almost any digit
string as a valid number, so the written shape, not the region list, keeps order numbers out.
"""

from __future__ import annotations

import re
from types import MappingProxyType

import phonenumbers
from stdnum import isbn

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import WORD_CHARS, BuiltinDetector, keywords, near
from zonegate.guards.detectors._scan import number_runs
from zonegate.guards.detectors.pii import luhn_valid

REGIONS = ("US", "GB", "FR", "IT", "ES", "NL", "IN", "BR", "DE")

_NON_DIGITS = re.compile(r"[^0-9]")
_GROUP_SPLIT = re.compile(r"[ ()./-]+")
# A date, possibly with the hour of a time after it ("2000-04-16 11:34:35": the run stops at ':').
_DATE = re.compile(
    r"\(?(?:[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}|[0-9]{4}[./-][0-9]{1,2}[./-][0-9]{1,2})\)?"
    r"(?:[ T][0-9]{1,2})?"
)
# Two space-separated numbers without a trunk prefix ("17151 2450 Crown St", "Apt. 675 62314")
# are in addresses far more often than in phone numbers, so they count only next to a phone
# word; "030 1234567" (trunk 0) and Indian mobiles ("98765 43210") keep counting on their own.
_TWO_GROUPS = re.compile(r"[1-9][0-9]* [0-9]+")
_INDIAN_MOBILE = re.compile(r"[6-9][0-9]{4} [0-9]{5}")
_YEAR_RANGE = re.compile(r"(?:19|20)[0-9]{2} ?[-/] ?(?:19|20)?[0-9]{2}")
# Identifier shapes the identifier detectors report: SSN, Brazilian CPF and CNPJ.
_ID_SHAPE = re.compile(
    r"[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}"
    r"|[0-9]{2}\.[0-9]{3}\.[0-9]{3}/[0-9]{4}-[0-9]{2}"
)
_IPV4ISH = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_DECIMAL = re.compile(r"[0-9]+\.[0-9]+")
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:([ .])[0-9]{3})+")
_SPANISH = re.compile(r"[6789][0-9]{2}(?: [0-9]{3} [0-9]{3}| [0-9]{2} [0-9]{2} [0-9]{2})")
_CONTEXT = keywords(
    "phone", "tel", "tel.", "telephone", "mobile", "mob", "cell", "call", "fax", "whatsapp",
    "sms", "ph", "telefon", "telefonnummer", "handy", "rufnummer", "téléphone", "portable",
    "teléfono", "telefono", "móvil", "cellulare", "telefoon", "mobiel", "celular", "फ़ोन",
)  # fmt: skip
_MIN_DIGITS, _MAX_DIGITS = 7, 15


class PhoneNumberDetector(BuiltinDetector):
    """Phone numbers that libphonenumber holds valid for their country (leniency VALID)."""

    __slots__ = ()
    type = "phone_number"
    needs_digits = True

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        for run in number_runs(text).with_digits(_MIN_DIGITS, _MAX_DIGITS):
            start, end = _widen(text, run.start, run.end)
            if _is_phone(text, start, end):
                found.append(self._finding(start, end))
        found.sort(key=lambda f: f.start)
        return found


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in a leading '+' or '(' and balance brackets at the end."""
    if start > 0 and text[start - 1] == "(":
        start -= 1
    if start > 0 and text[start - 1] == "+":
        start -= 1
    if text[start:end].count("(") > text[start:end].count(")"):
        if end < len(text) and text[end] == ")":
            end += 1
        elif text[start] == "(" and "(" not in text[start + 1 : end]:
            start += 1
    return start, end


def _is_phone(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    digits = _NON_DIGITS.sub("", value)
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return False
    if _glued(text, start, end) or _other_number(value, digits):
        return False
    if value[0] == "+":
        return _valid(value, None)
    if digits.startswith("00") and digits[2] != "0" and len(digits) >= 10:
        return _valid("+" + value.lstrip("(")[2:], None)
    formatted = len(digits) != len(value)
    if formatted and _THOUSANDS.fullmatch(value) and not _SPANISH.fullmatch(value):
        formatted = False  # reads as an amount ("1 234 567"), unless a word says otherwise
    if formatted and _TWO_GROUPS.fullmatch(value) and not _INDIAN_MOBILE.fullmatch(value):
        formatted = False
    if not formatted and not near(_CONTEXT, text, start, end, before=32):
        return False
    for region in _regions(len(digits)):
        prefix, pattern = _NATIONAL[region]
        national = digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits
        if pattern.fullmatch(national) and _valid(value, region):
            return True
    return False


def _glued(text: str, start: int, end: int) -> bool:
    if start > 0:
        before = text[start - 1]
        if before in WORD_CHARS or before == "+":
            return True
        if before in "-./" and start > 1 and text[start - 2].isdigit():
            return True
    if end < len(text):
        after = text[end]
        if after in WORD_CHARS:
            return True
        if after in "-./" and end + 1 < len(text) and text[end + 1].isdigit():
            return True
    return False


def _other_number(value: str, digits: str) -> bool:
    """Whether the candidate is better read as another kind of number."""
    if _DATE.fullmatch(value) or _YEAR_RANGE.fullmatch(value) or _IPV4ISH.fullmatch(value):
        return True
    if _DECIMAL.fullmatch(value) or _ID_SHAPE.fullmatch(value):
        return True
    if len(digits) >= 12 and value[0] != "+" and luhn_valid(digits) and digits[0] in "3456":
        return True  # a card number (the card detector reports it)
    if len(digits) == 13 and digits.startswith(("978", "979")) and isbn.is_valid(digits):
        return True
    groups = [g for g in _GROUP_SPLIT.split(value) if g]
    return len(groups) > 6  # a table of small numbers, not one phone number


def _regions(national_digits: int) -> tuple[str, ...]:
    """Regions of ``REGIONS`` where a national number can have this many digits."""
    return _REGIONS_BY_LENGTH.get(national_digits, ())


def _lengths(region: str) -> set[int]:
    """Possible national lengths of a region, with and without its trunk prefix ('0')."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.general_desc is None:
        return set(range(_MIN_DIGITS, _MAX_DIGITS + 1))
    lengths = set(metadata.general_desc.possible_length or ())
    prefix = metadata.national_prefix or ""
    return lengths | {n + len(prefix) for n in lengths} | {n + 1 for n in lengths}


def _national(region: str) -> tuple[str, re.Pattern[str]]:
    """The trunk prefix and the general national-number pattern of a region, for a cheap
    first check before the full parse."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.general_desc is None:
        return "", re.compile(r"[0-9]+")
    pattern = metadata.general_desc.national_number_pattern or r"[0-9]+"
    return metadata.national_prefix or "", re.compile(pattern)


_NATIONAL = MappingProxyType({region: _national(region) for region in REGIONS})
_REGIONS_BY_LENGTH = MappingProxyType(
    {n: tuple(r for r in REGIONS if n in _lengths(r)) for n in range(_MIN_DIGITS, _MAX_DIGITS + 1)}
)


def _valid(value: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))
