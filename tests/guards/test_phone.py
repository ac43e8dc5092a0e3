"""Phone numbers: valid for their country by libphonenumber, and written like a phone number."""

from __future__ import annotations

import pytest

from zonegate.guards.base import Detector
from zonegate.guards.detectors.phone import REGIONS, PhoneNumberDetector

PHONE = PhoneNumberDetector(data_class="confidential")


def found(detector: Detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call (415) 555-2671 today", "(415) 555-2671"),
        ("+1 (415) 555-2671", "+1 (415) 555-2671"),
        ("us 905-674-3793.", "905-674-3793"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("+44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
        ("mobile 07911 123456", "07911 123456"),
        ("030 1234567", "030 1234567"),
        ("0171/1234567", "0171/1234567"),
        ("+49 30 1234567", "+49 30 1234567"),
        ("0049 30 12345678", "0049 30 12345678"),
        ("Tel: 06 12 34 56 78.", "06 12 34 56 78"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("612 34 56 78", "612 34 56 78"),
        ("347 123 4567", "347 123 4567"),
        ("+91 98765 43210", "+91 98765 43210"),
        ("98765 43210", "98765 43210"),
        ("(11) 91234-5678", "(11) 91234-5678"),
        ("06-12345678", "06-12345678"),
        ("phone: 4155552671", "4155552671"),  # bare digits count next to a word for phones
        ("+14155552671", "+14155552671"),
        ("dateOfBirth? no: call +1 415 555 2671", "+1 415 555 2671"),
    ],
)
def test_phone_found(text: str, expected: str) -> None:
    assert found(PHONE, text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "in 2024-2025 we grew",
        "on 2024-01-15 and 15.01.2024 and 01/15/2024",
        "version 1.2.3.4 and IP 192.168.100.200",
        "price 1 234 567 EUR",
        "ISBN 978-3-16-148410-0",
        "order 12345678 and ticket 4155552671",  # bare digits without a word
        "card 4111 1111 1111 1111",
        "pi is 3.14159265",
        "ref AB-1234567 and 1234567-X",
        "1 2 3 4 5 6 7 8",
        "SSN 123-45-6789, CPF 111.444.777-35",
        "+99 1234 5678",  # no such country code
        "10.000.000 units",
    ],
)
def test_phone_not_found(text: str) -> None:
    assert found(PHONE, text) == []


def test_two_numbers_in_one_text() -> None:
    text = "UK +44 20 7946 0958, US (415) 555-2671"
    assert found(PHONE, text) == ["+44 20 7946 0958", "(415) 555-2671"]


def test_regions_are_the_documented_ones() -> None:
    assert set(REGIONS) == {"US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR"}


@pytest.mark.parametrize(
    "text",
    [
        "When: 2000-04-16 11:34:35 Where: office",  # a timestamp
        "The restaurant is at 17151 2450 Crown St",  # house and unit numbers
        "Mrs. Barbara Yudina Apt. 675 62314 Mellemvej",
    ],
)
def test_dates_and_address_numbers_are_not_phones(text: str) -> None:
    assert PhoneNumberDetector(data_class="confidential").detect(text) == []


def test_two_groups_count_next_to_a_phone_word() -> None:
    [finding] = PhoneNumberDetector(data_class="confidential").detect("call 415 5552671")
    assert (finding.start, finding.end) == (5, 16)
