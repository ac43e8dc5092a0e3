"""The phone detector's own validity check gives libphonenumber's answer, number for number."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from zonegate.guards.detectors._phone_valid import valid_international, valid_national
from zonegate.guards.detectors.phone import REGIONS

# Regions whose numbers share a country code with one of REGIONS (+1, +44, +39) and others.
_EXAMPLE_REGIONS = (*REGIONS, "CA", "PR", "AG", "BM", "GG", "JE", "IM", "VA", "CH", "SE", "JP")
_PREFIXES = ("", "0", "00", "011", "1", "44", "33", "39", "34", "31", "91", "55", "49", "90",
             "021", "0800", "180020", "9", "7")  # fmt: skip


def _reference(number: str, region: str | None) -> bool:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def _examples() -> list[str]:
    """Example numbers of every type of several regions (international digits, no '+'), each
    also with one digit changed."""
    rng = random.Random(11)
    numbers: list[str] = []
    for region in _EXAMPLE_REGIONS:
        for kind in range(11):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            digits = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:]
            i = rng.randrange(len(digits))
            numbers += [digits, digits[:i] + rng.choice("0123456789") + digits[i + 1 :]]
    return numbers


def _national_forms(international: str) -> list[str]:
    """The number as written at home (trunk prefix and all), and with its country code."""
    forms = [international, "00" + international]
    try:
        number = phonenumbers.parse("+" + international)
    except phonenumbers.NumberParseException:
        return forms  # a changed digit made the country code unknown
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return ["".join(ch for ch in national if ch.isdigit()), *forms]


def _random_digits(count: int) -> list[str]:
    rng = random.Random(7)
    return [
        rng.choice(_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 13)))
        for _ in range(count)
    ]


EXAMPLES = _examples()


@pytest.mark.parametrize("region", REGIONS)
def test_national_numbers_agree_with_libphonenumber(region: str) -> None:
    numbers = [form for example in EXAMPLES for form in _national_forms(example)]
    numbers += _random_digits(400)
    disagree = [n for n in numbers if valid_national(n, region) != _reference(n, region)]
    assert disagree == []
    assert any(valid_national(n, region) for n in numbers)  # the set holds valid ones too


def test_international_numbers_agree_with_libphonenumber() -> None:
    numbers = EXAMPLES + _random_digits(2000)
    disagree = [n for n in numbers if valid_international(n) != _reference("+" + n, None)]
    assert disagree == []
    assert sum(valid_international(n) for n in numbers) > len(EXAMPLES) // 3


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4155552671", True),  # a US number, valid in the main region of +1
        ("9056743793", True),  # Canadian: +1 but not valid in the US
        ("4412921234", True),  # Bermuda, placed by its leading digits 441
        ("1555267100", False),
    ],
)
def test_shared_country_codes_find_the_region(number: str, valid: bool) -> None:
    assert valid_national(number, "US") is valid
    assert valid_international("1" + number) is valid
