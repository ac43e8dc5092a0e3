"""National identifiers of the US, UK, DE, FR, ES, IT, NL, IN and BR, and EU VAT numbers.

Every candidate is checked by python-stdnum (check digits, issuing ranges). Where the written
form is distinctive (``123-45-6789``, ``123.456.789-09``, ``12345678Z``) the check is enough;
where it is a bare run of digits that other numbers share, a word naming the identifier must be
close by as well (``SSN 123456789``, ``BSN: 123456782``), so order numbers are not reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stdnum.br import cnpj, cpf
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.eu import vat
from stdnum.fr import nir
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import itin, ssn

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import (
    BuiltinDetector,
    glued,
    glued_after,
    glued_before,
    keywords,
    near,
)
from zonegate.guards.detectors._scan import Run, number_runs

Validator = Callable[[str], bool]
_SEPARATORS = str.maketrans("", "", " -./")
# stdnum's blacklist of SSNs published in advertising and the like.
_SSN_PUBLISHED = frozenset({"078051120", "457555462", "219099999"})
_NINO_NEVER_ISSUED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_VAT = re.compile(r"[A-Z]{2} ?[0-9A-Z][0-9A-Z .]{6,13}[0-9A-Z]")
_VAT_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "XI",
    ]
)


class _IdDetector(BuiltinDetector):
    """A pattern for each written form, a stdnum validator, and the words bare forms need.

    ``_formatted`` matches forms that stand on their own; ``_bare`` matches forms that count
    only with a ``_context`` word near them. Patterns are tried only around number runs holding
    ``_digits`` digits, from ``_lead`` characters before a run to ``_tail`` after it (letters
    that belong to the identifier). ``_glue`` lists characters that, joining a match to a
    further word character, make it part of something longer.
    """

    __slots__ = ()
    needs_digits = True
    _digits: tuple[int, int] = (0, 0)
    _lead = 0
    _tail = 0
    _formatted: re.Pattern[str] | None = None
    _bare: re.Pattern[str] | None = None
    _context: re.Pattern[str] | None = None
    _glue = "-./"

    def _valid(self, value: str) -> bool:
        raise NotImplementedError

    def _candidate(self, text: str, run: Run) -> bool:
        """A cheap look at the run before any pattern is tried."""
        return True

    def _accept(self, text: str, m: re.Match[str], *, formatted: bool) -> bool:
        if not formatted and (self._context is None or not near(self._context, text, *m.span())):
            return False
        return self._keep(text, m)

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        runs = number_runs(text).with_digits(*self._digits)
        if not runs:
            return found
        seen: set[int] = set()
        size = len(text)
        lead, tail, candidate = self._lead, self._tail, self._candidate
        patterns = [
            (pattern, formatted)
            for pattern, formatted in ((self._formatted, True), (self._bare, False))
            if pattern is not None
        ]
        for run in runs:
            if not candidate(text, run):
                continue
            low = run.start - lead if run.start > lead else 0
            high = run.end + tail if run.end + tail < size else size
            for pattern, formatted in patterns:
                for m in pattern.finditer(text, low, high):
                    if m.start() not in seen and self._accept(text, m, formatted=formatted):
                        seen.add(m.start())
                        found.append(self._finding(m.start(), m.end()))
        found.sort(key=lambda f: f.start)
        return found

    def _keep(self, text: str, m: re.Match[str]) -> bool:
        if glued(text, m.start(), m.end(), self._glue):
            return False
        return self._valid(m.group().translate(_SEPARATORS).upper())


def _ssn_valid(digits: str) -> bool:
    """python-stdnum's ``us.ssn.is_valid`` for nine ASCII digits, without its string cleaning
    (which costs ten times the checks): area 000, 666 and 9xx, group 00 and serial 0000 are
    never issued, and a few published numbers are refused."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return digits not in _SSN_PUBLISHED


def _letters_before(text: str, run: Run, count: int) -> bool:
    """Whether ``count`` upper-case ASCII letters (a space allowed) come right before ``run``."""
    head = text[max(0, run.start - count - 1) : run.start].replace(" ", "")[-count:]
    return len(head) == count and head.isalpha() and head.isupper() and head.isascii()


class UsSsnDetector(_IdDetector):
    """US social security numbers: ``NNN-NN-NNNN`` (or spaced) outside the never-issued ranges;
    nine bare digits only next to 'SSN' or 'social security'."""

    __slots__ = ()
    type = "us_ssn"
    _digits = (9, 9)
    _formatted = re.compile(r"[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}")
    _bare = re.compile(r"[0-9]{9}")
    _context = keywords("ssn", "ssns", "social security", "soc sec", "ss#", "ss no")

    def _valid(self, value: str) -> bool:
        if len(value) == 9 and value.isascii() and value.isdigit():
            return _ssn_valid(value)
        return bool(ssn.is_valid(value))

    def _keep(self, text: str, m: re.Match[str]) -> bool:
        if super()._keep(text, m):
            return True
        # Areas 900-999 are never issued as SSNs, but a dash-written 9xx-xx-xxxx that is not an
        # ITIN is how test, masked and look-alike SSNs are written: fail closed, treat it as one.
        value = m.group().translate(_SEPARATORS)
        return (
            m.lastindex == 1
            and m.group(1) == "-"
            and value.startswith("9")
            and not itin.is_valid(value)
            and value[3:5] != "00"
            and value[5:] != "0000"
            and not glued(text, m.start(), m.end(), self._glue)
        )


class UsItinDetector(_IdDetector):
    """US individual taxpayer numbers: ``9NN-NN-NNNN`` with an ITIN group (70-99 but 89, 93)."""

    __slots__ = ()
    type = "us_itin"
    _digits = (9, 9)
    _formatted = re.compile(r"9[0-9]{2}([- ])[0-9]{2}\1[0-9]{4}")
    _bare = re.compile(r"9[0-9]{8}")
    _context = keywords("itin", "taxpayer identification", "tin")

    def _valid(self, value: str) -> bool:
        return bool(itin.is_valid(value))


class UkNinoDetector(_IdDetector):
    """UK National Insurance numbers (``AB 12 34 56 C``). They carry no check digit: the letter
    rules of HMRC (no D, F, I, Q, U, V; no O second; no BG, GB, KN, NK, NT, TN, ZZ) filter."""

    __slots__ = ()
    type = "uk_nino"
    _digits = (6, 6)
    _lead = 3
    _tail = 2
    _formatted = re.compile(
        r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]( ?)[0-9]{2}\1[0-9]{2}\1[0-9]{2}\1[A-D]"
    )

    def _candidate(self, text: str, run: Run) -> bool:
        return _letters_before(text, run, 2)

    def _valid(self, value: str) -> bool:
        return value[:2] not in _NINO_NEVER_ISSUED


class DeTaxIdDetector(_IdDetector):
    """German tax identification numbers (Steuer-IdNr, 11 digits): ``12 345 678 901`` as
    printed on letters; bare only next to 'Steuer-ID', 'IdNr' or similar."""

    __slots__ = ()
    type = "de_tax_id"
    _digits = (11, 11)
    _formatted = re.compile(r"[1-9][0-9] [0-9]{3} [0-9]{3} [0-9]{3}")
    _bare = re.compile(r"[1-9][0-9]{10}")
    _context = keywords(
        "steuer-id", "steuerid", "steuer-idnr", "steueridentifikationsnummer", "idnr",
        "identifikationsnummer", "steuernummer", "tax id", "tin",
    )  # fmt: skip

    def _valid(self, value: str) -> bool:
        return bool(idnr.is_valid(value))


class FrNirDetector(_IdDetector):
    """French social security numbers (NIR, 15 characters, Corsica's 2A/2B included): spaced
    as on the carte Vitale, or bare next to 'sécurité sociale', 'NIR' or 'INSEE'."""

    __slots__ = ()
    type = "fr_nir"
    _digits = (6, 15)
    _tail = 12
    _formatted = re.compile(
        r"[12] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2A|2B) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}"
    )
    _context = keywords(
        "nir", "insee", "sécurité sociale", "securite sociale", "sécu", "secu",
        "numéro de sécurité sociale", "social security",
    )  # fmt: skip

    def _candidate(self, text: str, run: Run) -> bool:
        # Fifteen digits in one run, or a run that stops at Corsica's 2A / 2B: the pattern only
        # joins its groups by single spaces, which never end a run. Looking at every run of six
        # or more digits otherwise cost more than all the other identifiers together.
        return run.digits == 15 or (run.end < len(text) and text[run.end] in "AB")

    def _accept(self, text: str, m: re.Match[str], *, formatted: bool) -> bool:
        spaced = " " in m.group()
        if not spaced and (self._context is None or not near(self._context, text, *m.span())):
            return False  # fifteen bare digits need a word naming them
        return self._keep(text, m)

    def _valid(self, value: str) -> bool:
        return bool(nir.is_valid(value))


class EsDniDetector(_IdDetector):
    """Spanish DNI: eight digits and the check letter (``12345678Z``)."""

    __slots__ = ()
    type = "es_dni"
    _digits = (8, 8)
    _tail = 2
    _formatted = re.compile(r"[0-9]{8}-?[A-HJ-NP-TV-Z]")

    def _candidate(self, text: str, run: Run) -> bool:
        return run.end - run.start == 8  # eight digits in a row, not a date like 2023-05-14

    def _valid(self, value: str) -> bool:
        return bool(dni.is_valid(value))


class EsNieDetector(_IdDetector):
    """Spanish foreigner numbers (NIE): X, Y or Z, seven digits and the check letter."""

    __slots__ = ()
    type = "es_nie"
    _digits = (7, 7)
    _lead = 2
    _tail = 2
    _formatted = re.compile(r"[XYZ]-?[0-9]{7}-?[A-HJ-NP-TV-Z]")

    def _valid(self, value: str) -> bool:
        return bool(nie.is_valid(value))


class ItFiscalCodeDetector(_IdDetector):
    """Italian codice fiscale of a person: 16 characters with an encoded birth date and place,
    and a check letter."""

    __slots__ = ()
    type = "it_fiscal_code"
    _digits = (2, 2)
    _lead = 6
    _tail = 8
    _formatted = re.compile(
        r"[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]"
    )

    def _candidate(self, text: str, run: Run) -> bool:
        return _letters_before(text, run, 6)

    def _valid(self, value: str) -> bool:
        return bool(codicefiscale.is_valid(value))


class NlBsnDetector(_IdDetector):
    """Dutch citizen service numbers (BSN, 9 digits, 11-test); one random number in eleven
    passes that test, so a BSN counts only next to 'BSN', 'burgerservicenummer' or 'sofinummer'."""

    __slots__ = ()
    type = "nl_bsn"
    _digits = (9, 9)
    _bare = re.compile(r"[0-9]{4}\.?[0-9]{2}\.?[0-9]{3}|[0-9]{3} [0-9]{3} [0-9]{3}")
    _context = keywords(
        "bsn", "burgerservicenummer", "burgerservicenr", "sofinummer", "sofi-nummer",
        "sofinr", "citizen service number",
    )  # fmt: skip

    def _valid(self, value: str) -> bool:
        return bool(bsn.is_valid(value))


class InAadhaarDetector(_IdDetector):
    """Indian Aadhaar numbers (12 digits, Verhoeff check): ``2345 6789 0123`` as printed on the
    card; bare only next to 'Aadhaar' or 'UIDAI'."""

    __slots__ = ()
    type = "in_aadhaar"
    _digits = (12, 12)
    _formatted = re.compile(r"[2-9][0-9]{3}([ -])[0-9]{4}\1[0-9]{4}")
    _bare = re.compile(r"[2-9][0-9]{11}")
    _context = keywords("aadhaar", "aadhar", "uidai", "uid", "आधार")

    def _valid(self, value: str) -> bool:
        return bool(aadhaar.is_valid(value))


class InPanDetector(_IdDetector):
    """Indian Permanent Account Numbers (``ABCPE1234F``: holder type in the fourth letter)."""

    __slots__ = ()
    type = "in_pan"
    _digits = (4, 4)
    _lead = 5
    _tail = 1
    _formatted = re.compile(r"[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z]")

    def _candidate(self, text: str, run: Run) -> bool:
        return _letters_before(text, run, 5)

    def _valid(self, value: str) -> bool:
        return bool(pan.is_valid(value))


class BrCpfDetector(_IdDetector):
    """Brazilian individual taxpayer numbers (CPF, two check digits): ``123.456.789-09``; bare
    eleven digits only next to 'CPF'."""

    __slots__ = ()
    type = "br_cpf"
    _digits = (11, 11)
    _formatted = re.compile(r"[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}")
    _bare = re.compile(r"[0-9]{11}")
    _context = keywords("cpf", "cadastro de pessoas físicas", "cadastro de pessoas fisicas")

    def _valid(self, value: str) -> bool:
        return bool(cpf.is_valid(value))


class BrCnpjDetector(_IdDetector):
    """Brazilian company numbers (CNPJ, two check digits): ``12.345.678/0001-95``; bare fourteen
    digits only next to 'CNPJ'."""

    __slots__ = ()
    type = "br_cnpj"
    _digits = (14, 14)
    _formatted = re.compile(r"[0-9]{2}\.[0-9]{3}\.[0-9]{3}/[0-9]{4}-[0-9]{2}")
    _bare = re.compile(r"[0-9]{14}")
    _context = keywords("cnpj", "cadastro nacional da pessoa jurídica")

    def _valid(self, value: str) -> bool:
        return bool(cnpj.is_valid(value))


class EuVatDetector(_IdDetector):
    """EU VAT identification numbers with their country prefix (``DE136695976``), checked by
    the country's rules in python-stdnum; no online (VIES) lookup."""

    __slots__ = ()
    type = "eu_vat"
    _digits = (7, 14)
    _lead = 6
    _tail = 4

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        pos = 0
        size = len(text)
        for run in number_runs(text).with_digits(*self._digits):
            low, high = max(pos, run.start - self._lead), min(size, run.end + self._tail)
            head = text[low : run.start]
            if head == head.lower():
                continue  # no capital letter before the run, so no country prefix
            while (m := _VAT.search(text, low, high)) is not None and m.start() <= run.start:
                end = _vat_end(text, m)
                if end is None:
                    low = m.start() + 1
                    continue
                found.append(self._finding(m.start(), end))
                pos = end
                break
        return found

    def _valid(self, value: str) -> bool:
        return bool(vat.is_valid(value))


def _vat_end(text: str, m: re.Match[str]) -> int | None:
    """The end of the longest valid VAT number at ``m`` (the match may run into later words)."""
    start = m.start()
    value = m.group()
    if value[:2] not in _VAT_COUNTRIES or glued_before(text, start):
        return None
    for end in range(len(value), 9, -1):
        if value[end - 1] in " ." or glued_after(text, start + end):
            continue
        compact = value[:end].translate(_SEPARATORS)
        if any(c.isdigit() for c in compact[2:]) and vat.is_valid(compact):
            return start + end
    return None
