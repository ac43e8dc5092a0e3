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


# --- numbers labelled as something else --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Order no. 0612345678, phone support",  # the label wins over the phone word after it
        "order 06 12 34 56 78",  # written like a French phone number, but labelled an order
        "Invoice #: 415-555-2671",
        "tracking number 0171 1234567",
        "my driver's license number is 2270-66-1551",
    ],
)
def test_a_number_labelled_as_another_kind_is_not_a_phone(text: str) -> None:
    assert found(PHONE, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Ref #793516389. Summary of the call with Ana",  # '#' makes it an id
        "Ticket #443997922: customer says call me",
        "Importe #225904483.",
    ],
)
def test_a_number_after_a_hash_sign_is_an_id(text: str) -> None:
    assert found(PHONE, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone #4155552671", "4155552671"),
        ("Tel. #0612345678", "0612345678"),
        ("Phone #: 4155552671", "4155552671"),
    ],
)
def test_a_hash_sign_after_a_phone_word_is_a_number_sign(text: str, expected: str) -> None:
    assert found(PHONE, text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "IBAN GB21 MJPC 5923 2949 2230 06.",  # the account digits of an IBAN in groups
        "Konto nl78 ozma 0409 4720 90.",
        "Aadhaar no. 7742 0366 2694.",
        "7742 0366 2694",  # an Aadhaar number's shape and check digit, even without the word
        "card number 2131 9795 2439 989",  # a 15-digit JCB card
        "ZIP: 75534-030",  # a Brazilian CEP
        "based in 3610-114 Lisboa",  # a Portuguese postcode
        "Ref 978-13--2488103-2.",  # an ISBN with an empty group
        "carte bancaire 0604 5747-5626",
        "Importe 0073957522727.",  # a product code, though '00' could open a phone number
    ],
)
def test_other_identifiers_are_not_phones(text: str) -> None:
    assert found(PHONE, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Summary of the call with Sem: BSN: 847296039.", []),
        ("Summary of the call with Yahvi: 238330369876.", []),  # 'call' the noun says nothing
        ("Importe 9770614169455.\nSummary of the call with Ana", []),  # a phone word far after
        ("Ticket 3315512306708: customer says mobile 0612345678", ["0612345678"]),
    ],
)
def test_a_phone_word_elsewhere_in_the_sentence_is_not_context(
    text: str, expected: list[str]
) -> None:
    assert found(PHONE, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me at 415 5552671", "415 5552671"),
        ("Please call the front desk at 4155552671.", "4155552671"),
        ("4155552671 is my cell", "4155552671"),
        ("0612345678 (mobile)", "0612345678"),
        ("telefone 0221397918 is wrong", "0221397918"),
        ("mobile 0612345678 order 12345678", "0612345678"),
        ("Fax 0049301234567", "0049301234567"),
    ],
)
def test_bare_national_numbers_count_next_to_a_phone_word(text: str, expected: str) -> None:
    assert found(PHONE, text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call (415) 555-2671 x123 now", "(415) 555-2671 x123"),
        ("Tel. (415)555-2671x1153.", "(415)555-2671x1153"),
        ("+1-415-555-2671 ext. 12", "+1-415-555-2671 ext. 12"),
    ],
)
def test_an_extension_belongs_to_the_number(text: str, expected: str) -> None:
    assert found(PHONE, text) == [expected]


def test_an_area_code_in_brackets_outweighs_a_label() -> None:
    assert found(PHONE, "Case (415) 555-2671") == ["(415) 555-2671"]
    assert found(PHONE, "Case 415-555-2671") == []


def test_a_trunk_prefix_in_brackets_is_not_counted_as_a_group() -> None:
    assert found(PHONE, "Tel: +33 (0)4 75 76 94 52") == ["+33 (0)4 75 76 94 52"]
