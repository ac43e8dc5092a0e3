"""A seeded, labelled PII corpus for the detection benchmark, generated with Faker.

It exists so the benchmark runs without any external data set, and so it can test what public
sets do not: several locales' formats, national identifiers, and adversarial formatting of the
values (cards spaced, dashed or dotted, full-width digits, zero-width characters inside a value).
Each labelled span records the formatting variant, so recall can be reported per variant.
Unlabelled distractors (order numbers, dates, amounts, ISBNs, tracking codes) sit beside the
values, so a detector that matches every long digit run pays for it in precision.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker
from stdnum import verhoeff

LOCALES = ("en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_GB", "pt_BR", "en_IN")

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
_FULL_WIDTH = str.maketrans({chr(c): chr(c - 0x30 + 0xFF10) for c in range(0x30, 0x3A)})


@dataclass(frozen=True, slots=True)
class Span:
    entity: str
    start: int
    end: int
    variant: str


@dataclass(frozen=True, slots=True)
class Sample:
    locale: str
    text: str
    spans: tuple[Span, ...]


# --- values --------------------------------------------------------------------------------------


def _uk_nino(rng: random.Random) -> str:
    """A NINO with a valid prefix (Faker's en_GB one always uses the invalid 'ZZ')."""
    first = "ABCEGHJKLMNOPRSTWXYZ"
    second = "ABCEGHJKLMNPRSTWXYZ"
    banned = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}
    while True:
        prefix = rng.choice(first) + rng.choice(second)
        if prefix not in banned:
            break
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    return f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {rng.choice('ABCD')}"


def _in_pan(rng: random.Random) -> str:
    letters = string.ascii_uppercase
    return (
        "".join(rng.choice(letters) for _ in range(3))
        + rng.choice("PCHFATBLJG")
        + rng.choice(letters)
        + "".join(rng.choice(string.digits) for _ in range(4))
        + rng.choice(letters)
    )


def _aadhaar(rng: random.Random) -> str:
    """A Verhoeff-valid Aadhaar (most of Faker's ``aadhaar_id`` values fail the check digit)."""
    body = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(10))
    value = body + verhoeff.calc_check_digit(body)
    return f"{value[:4]} {value[4:8]} {value[8:]}" if rng.random() < 0.5 else value


def _national(locale: str, fake: Faker, rng: random.Random) -> list[tuple[str, str]]:
    """(entity, value) for the national identifiers Faker (or this module) makes for a locale."""
    if locale == "en_US":
        return [("US_SSN", fake.ssn())]
    if locale == "it_IT":
        return [("IT_FISCAL_CODE", fake.ssn())]
    if locale == "es_ES":
        return [("ES_NIF", fake.nif())]
    if locale == "nl_NL":
        return [("NL_BSN", fake.ssn())]
    if locale == "fr_FR":
        return [("FR_NIR", fake.ssn())]
    if locale == "pt_BR":
        return [("BR_CPF", fake.cpf())]
    if locale == "en_IN":
        return [("IN_AADHAAR", _aadhaar(rng)), ("IN_PAN", _in_pan(rng))]
    if locale == "en_GB":
        return [("UK_NINO", _uk_nino(rng))]
    return []


# --- adversarial formatting ----------------------------------------------------------------------


def _regroup(value: str, sep: str, size: int = 4) -> str:
    raw = "".join(ch for ch in value if ch.isalnum())
    return sep.join(raw[i : i + size] for i in range(0, len(raw), size))


def _zero_width(value: str, rng: random.Random) -> str:
    chars = list(value)
    for _ in range(rng.randint(1, 3)):
        chars.insert(rng.randint(1, len(chars) - 1), rng.choice(ZERO_WIDTH))
    return "".join(chars)


def _mixed_card(value: str) -> str:
    raw = "".join(ch for ch in value if ch.isdigit())
    groups = [raw[i : i + 4] for i in range(0, len(raw), 4)]
    return (
        groups[0] + " " + "-".join(groups[1:3]) + (" " + " ".join(groups[3:]) if groups[3:] else "")
    )


Variant = Callable[[str, random.Random], str]

_VARIANTS: dict[str, dict[str, Variant]] = {
    "CREDIT_CARD": {
        "plain": lambda v, r: v,
        "spaced": lambda v, r: _regroup(v, " "),
        "dashed": lambda v, r: _regroup(v, "-"),
        "dotted": lambda v, r: _regroup(v, "."),
        "mixed": lambda v, r: _mixed_card(v),
        "full-width": lambda v, r: _regroup(v, " ").translate(_FULL_WIDTH),
        "zero-width": lambda v, r: _zero_width(v, r),
    },
    "IBAN_CODE": {
        "plain": lambda v, r: v,
        "spaced": lambda v, r: _regroup(v, " "),
        "lower": lambda v, r: _regroup(v, " ").lower(),
        "zero-width": lambda v, r: _zero_width(v, r),
    },
    "US_SSN": {
        "plain": lambda v, r: v,
        "spaced": lambda v, r: v.replace("-", " "),
        "full-width": lambda v, r: v.translate(_FULL_WIDTH),
        "zero-width": lambda v, r: _zero_width(v, r),
    },
    "PHONE_NUMBER": {
        "plain": lambda v, r: v,
        "full-width": lambda v, r: v.translate(_FULL_WIDTH),
        "zero-width": lambda v, r: _zero_width(v, r),
    },
    "EMAIL_ADDRESS": {
        "plain": lambda v, r: v,
        "zero-width": lambda v, r: _zero_width(v, r),
    },
    "IP_ADDRESS": {
        "plain": lambda v, r: v,
        "full-width": lambda v, r: v.translate(_FULL_WIDTH),
        "zero-width": lambda v, r: _zero_width(v, r),
    },
}
_DEFAULT_VARIANTS: dict[str, Variant] = {
    "plain": lambda v, r: v,
    "zero-width": lambda v, r: _zero_width(v, r),
}

# Share of values left in their plain form; the rest get one adversarial variant each.
PLAIN_SHARE = 0.5

_LABELS = {
    "CREDIT_CARD": ("card number", "paid with card", "Karte", "carte bancaire", "tarjeta"),
    "IBAN_CODE": ("IBAN", "account", "Konto", "pay to", "bank details"),
    "PHONE_NUMBER": ("phone", "call me on", "Tel.", "mobile", "telefone"),
    "EMAIL_ADDRESS": ("email", "write to", "E-Mail", "courriel", "contact"),
    "IP_ADDRESS": ("from IP", "client address", "host", "source"),
}
# National ids get the words people write next to them; one generic label in each list, so a
# bare number with no hint is part of the test too.
_ID_LABELS = {
    "US_SSN": ("SSN", "social security number", "SSN:", "id number"),
    "IT_FISCAL_CODE": ("codice fiscale", "CF", "tax code", "id number"),
    "ES_NIF": ("NIF", "DNI", "DNI/NIF", "id number"),
    "NL_BSN": ("BSN", "burgerservicenummer", "BSN-nummer", "id number"),
    "FR_NIR": ("NIR", "numéro de sécurité sociale", "n° sécu", "id number"),
    "BR_CPF": ("CPF", "CPF nº", "cadastro CPF", "id number"),
    "IN_AADHAAR": ("Aadhaar", "Aadhaar no.", "UID", "id number"),
    "IN_PAN": ("PAN", "PAN card", "income tax PAN", "id number"),
    "UK_NINO": ("NI number", "National Insurance number", "NINO", "id number"),
}

_TEMPLATES = (
    "Hi team, {name} from {company} asked us to update the record: {label} {value}. "
    "Ref {distractor}.",
    "{name} ({city}) wrote on {date}: please use {label} {value} from now on, order {distractor}.",
    "Ticket {distractor}: customer says {label} {value} is wrong; escalate to {name}.",
    "Summary of the call with {name}: {label}: {value}. Follow-up on {date} at {company}.",
    "Nota: {label} {value} — {name}, {city}. Importe {distractor}.",
)


def _distractor(fake: Faker, rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind == 0:
        return f"#{rng.randrange(10**7, 10**9)}"
    if kind == 1:
        return fake.isbn13()
    if kind == 2:
        return f"EUR {rng.randrange(1, 99999):,}.{rng.randrange(100):02d}"
    if kind == 3:
        return fake.bothify("1Z###??##########").upper()
    if kind == 4:
        return fake.date()
    if kind == 5:
        return f"v{rng.randrange(1, 20)}.{rng.randrange(30)}.{rng.randrange(100)}"
    return fake.ean13()


def _values(locale: str, fake: Faker, rng: random.Random) -> list[tuple[str, str]]:
    return [
        ("CREDIT_CARD", fake.credit_card_number()),
        ("IBAN_CODE", fake.iban()),
        ("PHONE_NUMBER", fake.phone_number()),
        ("EMAIL_ADDRESS", fake.email()),
        ("IP_ADDRESS", fake.ipv4_public()),
        *_national(locale, fake, rng),
    ]


def _format(entity: str, value: str, rng: random.Random) -> tuple[str, str]:
    variants = _VARIANTS.get(entity, _DEFAULT_VARIANTS)
    if rng.random() < PLAIN_SHARE:
        return value, "plain"
    name = rng.choice([n for n in variants if n != "plain"])
    return variants[name](value, rng), name


def generate(seed: int, per_locale: int) -> list[Sample]:
    """``per_locale`` samples per locale, each one sentence per value type; same seed, same data."""
    samples: list[Sample] = []
    for n, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + n)
        rng = random.Random(seed * 1000 + n)
        for _ in range(per_locale):
            text = ""
            spans: list[Span] = []
            for entity, raw in _values(locale, fake, rng):
                value, variant = _format(entity, raw, rng)
                template = rng.choice(_TEMPLATES)
                label = rng.choice({**_LABELS, **_ID_LABELS}[entity])
                head, tail = template.split("{value}")
                fields = {
                    "name": fake.name(),
                    "company": fake.company(),
                    "city": fake.city(),
                    "date": fake.date(),
                    "label": label,
                    "distractor": _distractor(fake, rng),
                }
                prefix = head.format(**fields)
                start = len(text) + len(prefix)
                spans.append(Span(entity, start, start + len(value), variant))
                text += prefix + value + tail.format(**fields) + "\n"
            samples.append(Sample(locale, text, tuple(spans)))
    return samples
