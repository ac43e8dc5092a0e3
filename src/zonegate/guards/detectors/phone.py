"""Phone numbers, national and international, valid by libphonenumber's rules for their country.

Candidates are runs of 7 to 15 digits with phone punctuation. Most are something else, so the
cheap tests come first: not glued to a longer token (nor to a '#'), not shaped like a date, a
decimal, an IP address, a year range, an SSN, a postcode, a grouped amount, a card, an Aadhaar
number, an ISBN or the tail of an IBAN. A number with a ``+`` or ``00`` country prefix is then
checked once; a national number is tried against the regions of ``REGIONS`` whose numbers can
have its length. A national number (or one written with a ``00`` prefix) right after a label of
another kind of number ('order no.', 'Ref', 'IBAN', 'SSN:') is that number, not a phone, unless
it opens with an area code in brackets; otherwise it must be written with separators or
brackets, or have a phone word ('phone', 'tel', 'call me on') before it or right after it.
Germany accepts almost any digit string as a valid number, so the written shape and the words
around it, not the region list, keep order numbers out. An extension (``x123``, ``ext. 12``)
after the number belongs to its finding. Validity itself is ``_phone_valid``: libphonenumber's
decision, taken from its metadata without a full parse.
"""

from __future__ import annotations

import re
from types import MappingProxyType

import phonenumbers
from stdnum.in_ import aadhaar

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import WORD_CHARS, BuiltinDetector
from zonegate.guards.detectors._phone_valid import valid_international, valid_national
from zonegate.guards.detectors._scan import lowered, number_runs
from zonegate.guards.detectors.pii import card_issuer_known, luhn_valid

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
# Brazilian CEP and Portuguese postcodes.
_POSTCODE = re.compile(r"[0-9]{4,5}-[0-9]{3}")
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:([ .])[0-9]{3})+")
_SPANISH = re.compile(r"[6789][0-9]{2}(?: [0-9]{3} [0-9]{3}| [0-9]{2} [0-9]{2} [0-9]{2})")
# Shapes of other numbers, in one pattern: dates, year ranges, IPv4 addresses, decimals, SSN / CPF
# / CNPJ, Brazilian and Portuguese postcodes.
_OTHER_SHAPES = re.compile(
    "|".join(p.pattern for p in (_DATE, _YEAR_RANGE, _IPV4ISH, _DECIMAL, _ID_SHAPE, _POSTCODE))
)
# Written like an Aadhaar number, as the Aadhaar detector reports it (Verhoeff checked after).
_AADHAAR = re.compile(r"[2-9][0-9]{3}([ -])[0-9]{4}\1[0-9]{4}")
# The head of an IBAN written in groups ("GB21 MJPC 5923 2949 ...", "nl78 ozma 0409 4720 90"):
# the digits after it are its account number, not a phone number.
_IBAN_HEAD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){1,7} ?\Z")
_IBAN_HEAD_SPAN = 40
_PHONE_WORDS = (
    "phone", "tel", "tel.", "telephone", "mobile", "mob", "cell", "fax", "whatsapp", "sms",
    "ph", "telefon", "telefonnummer", "handy", "rufnummer", "téléphone", "tél", "portable",
    "teléfono", "telefono", "móvil", "cellulare", "telefoon", "mobiel", "celular", "telefone",
    "telemóvel", "फ़ोन",
)  # fmt: skip
# Labels of other numbers: a national number right after one of these, with only 'no.', '#',
# ':' and the like between, is that number whatever its shape ("Order no. 0612345678").
_OTHER_LABELS = (
    "order", "orders", "bestellung", "commande", "pedido", "ordine", "bestelling", "invoice",
    "rechnung", "facture", "factura", "fattura", "factuur", "receipt", "tracking", "shipment",
    "parcel", "ref", "reference", "referenz", "référence", "referencia", "riferimento", "ticket",
    "case", "id", "account", "acct", "konto", "compte", "cuenta", "conto", "rekening", "iban",
    "bic", "swift", "card", "karte", "carte", "tarjeta", "cartão", "carta", "kaart", "ssn",
    "social security", "bsn", "aadhaar", "aadhar", "uid", "pan", "nif", "dni", "nie", "cpf",
    "cnpj", "nir", "insee", "isbn", "ean", "sku", "serial", "license", "licence", "passport",
    "permit", "policy", "zip", "postcode", "postal code", "cep", "plz", "amount", "total",
    "price", "importe", "betrag", "montant", "importo", "bedrag", "valor", "bancaire",
    "bancaria", "bancario", "credit", "crédito", "credito", "kreditkarte", "debit",
)  # fmt: skip
_LABEL_FILLERS = (
    "no", "nr", "n°", "nº", "num", "number", "nummer", "numéro", "numero", "número", "code",
    "is", "was",
)  # fmt: skip


def _words(words: tuple[str, ...] | list[str]) -> str:
    """Whole-word alternation for lower-cased text (longest first)."""
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])"


# The context patterns run over the lower-cased text (same offsets), which is about twice as
# fast as case-insensitive matching.
# A phone word anywhere in the 32 characters before a number; 'call' only as the verb leading to
# it ("call 555 1234", "call me on ...", "call the front desk at ..."), not in "the call with
# Ana: BSN 123456782".
_CONTEXT = re.compile(_words(_PHONE_WORDS))
_CONTEXT_SPAN = 32
_CALL = re.compile(
    r"(?<![a-z0-9])call(?:ed|ing)?(?:\s+(?:[a-z]+\s+){0,3}?(?:on|at|under|via))?[\s:.-]*\Z"
)
_CALL_SPAN = 40
_PHONE_HASH = re.compile(_words(_PHONE_WORDS) + r"[ ]?\Z")
# A phone word (or 'office', 'home') right after a number: "655 437 108 office", "... (mobile)",
# "4155552671 is my cell".
_AFTER = re.compile(
    r"[ \t]*[(,/:-]?[ \t]*(?:(?:is|was)[ \t]+)?(?:(?:my|our|his|her|their|the)[ \t]+)?"
    + _words((*_PHONE_WORDS, "office", "home", "desk"))
)
_AFTER_GAP = frozenset(" \t(,/:-")
# Another number's label before a number, matched on the reversed text before it so that the
# match is anchored (a search over the window costs several times more).
_OTHER_LABEL = re.compile(
    r"(?:[\s:#.,=-]|"
    + _words([w[::-1] for w in _LABEL_FILLERS])
    + ")*"
    + _words([w[::-1] for w in _OTHER_LABELS])
)
_OTHER_LABEL_SPAN = 48
_EXTENSION = re.compile(r" ?(?:x|ext\.?|extn\.?|extension) ?[0-9]{1,6}(?![0-9A-Za-z_])", re.I)
_MIN_DIGITS, _MAX_DIGITS = 7, 15


class PhoneNumberDetector(BuiltinDetector):
    """Phone numbers that libphonenumber holds valid for their country (leniency VALID)."""

    __slots__ = ()
    type = "phone_number"
    needs_digits = True

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        low = ""
        for run in number_runs(text).with_digits(_MIN_DIGITS, _MAX_DIGITS):
            start, end = _widen(text, run.start, run.end)
            if _OTHER_SHAPES.fullmatch(text, start, end) is not None:
                continue  # a date, an IP address...: half the candidates, so ruled out first
            extension = _EXTENSION.match(text, end)
            outer = end if extension is None else extension.end()
            if not low:
                low = lowered(text)
            if _is_phone(text, low, start, end, outer):
                found.append(self._finding(start, outer))
        found.sort(key=lambda f: f.start)
        return found


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in a leading '+' or '(' and balance brackets at the end."""
    if start > 0 and text[start - 1] in "(+":
        if text[start - 1] == "(":
            start -= 1
        if start > 0 and text[start - 1] == "+":
            start -= 1
    elif text.find("(", start, end) < 0:
        return start, end  # nothing to balance (the usual case)
    if text.count("(", start, end) > text.count(")", start, end):
        if end < len(text) and text[end] == ")":
            end += 1
        elif text[start] == "(" and "(" not in text[start + 1 : end]:
            start += 1
    return start, end


def _is_phone(text: str, low: str, start: int, end: int, outer: int) -> bool:
    """Whether ``text[start:end]`` is a phone number; ``outer`` is where its extension ends and
    ``low`` is ``text`` lower-cased. The cheap tests come first."""
    if _glued(text, low, start, outer):
        return False
    value = text[start:end]
    if value.isdigit():
        digits = value
        if _card_or_isbn(digits):
            return False
    else:
        digits = _NON_DIGITS.sub("", value)
        if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS or _other_number(value, digits):
            return False
        if value[0] == "+":
            return valid_international(digits)
    if _national_id(value, digits):
        return False
    if value[0] != "(" and _labelled_otherwise(text, low, start):
        return False  # "(415) 555-2671": an area code in brackets is a phone, whatever the label
    if not _phone_shaped(value) and not _phone_context(low, start, outer):
        return False
    if digits.startswith("00") and digits[2] != "0" and len(digits) >= 10:
        return valid_international(digits[2:])
    for region in _regions(len(digits)):
        prefix, pattern = _NATIONAL[region]
        national = digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits
        if pattern.fullmatch(national) and valid_national(digits, region):
            return True
    return False


def _phone_shaped(value: str) -> bool:
    """Whether a national number is written the way phone numbers are (groups, brackets)."""
    if value.isdigit():
        return False
    if _THOUSANDS.fullmatch(value) and not _SPANISH.fullmatch(value):
        return False  # reads as an amount ("1 234 567"), unless a word says otherwise
    return not (_TWO_GROUPS.fullmatch(value) and not _INDIAN_MOBILE.fullmatch(value))


def _phone_context(low: str, start: int, end: int) -> bool:
    """A phone word in the 32 characters before, 'call' leading to the number, or a phone word
    (or 'office', 'home') right after it."""
    if _CONTEXT.search(low, max(0, start - _CONTEXT_SPAN), start) is not None:
        return True
    call_from = max(0, start - _CALL_SPAN)
    if "call" in low[call_from:start] and _CALL.search(low, call_from, start) is not None:
        return True
    return end < len(low) and low[end] in _AFTER_GAP and _AFTER.match(low, end) is not None


def _labelled_otherwise(text: str, low: str, start: int) -> bool:
    """Whether a label of another kind of number ('order no.', 'IBAN GB21 MJPC') leads in."""
    if start == 0:
        return False
    before = low[max(0, start - _OTHER_LABEL_SPAN) : start][::-1]
    if _OTHER_LABEL.match(before) is not None:
        return True
    return (
        text[start - 1] == " "
        and start > 1
        and text[start - 2].isalnum()
        and _IBAN_HEAD.search(text, max(0, start - _IBAN_HEAD_SPAN), start) is not None
    )


def _glued(text: str, low: str, start: int, end: int) -> bool:
    """Part of a longer token: a word character or '+' before it, a '#' not after a phone word
    ('#12345678' is an order or ticket number, 'tel #0612345678' is not), or a separator
    joining it to more digits ('978-13--2488103-2')."""
    if start > 0:
        before = text[start - 1]
        if before in WORD_CHARS or before == "+":
            return True
        if before == "#":
            return _PHONE_HASH.search(low, max(0, start - 16), start - 1) is None
        if before in "-./":
            k = start - 2
            while k >= 0 and start - k <= 3 and text[k] in "-./":
                k -= 1
            if k >= 0 and text[k].isdigit():
                return True
    if end < len(text):
        after = text[end]
        if after in WORD_CHARS:
            return True
        if after in "-./" and end + 1 < len(text) and text[end + 1].isdigit():
            return True
    return False


def _other_number(value: str, digits: str) -> bool:
    """Whether a written-out candidate is better read as another kind of number (besides the
    shapes of ``_OTHER_SHAPES``, which ``detect`` rules out first)."""
    if value[0] != "+" and _card_or_isbn(digits):
        return True
    groups = [g for g in _GROUP_SPLIT.split(value) if g]
    if groups[0][0] == "+":
        groups.pop(0)  # the country code
    if groups and groups[0] == "0" and "(0)" in value:
        groups.pop(0)  # the trunk prefix of "+33 (0)4 75 76 94 52"
    return len(groups) > 6  # a table of small numbers, not one phone number


def _card_or_isbn(digits: str) -> bool:
    """A card number (the card detector reports it) or an ISBN-13."""
    if len(digits) >= 12 and _card(digits):
        return True
    return len(digits) == 13 and digits.startswith(("978", "979")) and _ean13(digits)


def _ean13(digits: str) -> bool:
    """The EAN-13 check digit (ISBN-13 is EAN-13 with a 978 or 979 prefix)."""
    total = 0
    for i, ch in enumerate(digits):
        total += (ord(ch) - 48) * (3 if i & 1 else 1)
    return total % 10 == 0


def _card(digits: str) -> bool:
    return (digits[0] in "3456" or card_issuer_known(digits)) and luhn_valid(digits)


def _national_id(value: str, digits: str) -> bool:
    """Written like an Aadhaar number with a valid check digit (the Aadhaar detector's)."""
    return _AADHAAR.fullmatch(value) is not None and bool(aadhaar.is_valid(digits))


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
