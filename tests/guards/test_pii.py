from __future__ import annotations

import pytest

from zonegate.guards.base import Detector, Finding
from zonegate.guards.detectors.pii import (
    EmailDetector,
    IbanDetector,
    PaymentCardDetector,
    UsSsnDetector,
    card_issuer_known,
    iban_valid,
    luhn_valid,
)


def found(detector: Detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text)]


EMAIL = EmailDetector(data_class="confidential")
CARD = PaymentCardDetector(data_class="restricted")
IBAN = IbanDetector(data_class="restricted")
SSN = UsSsnDetector(data_class="restricted")


def test_detectors_name_their_type_and_class_and_satisfy_the_protocol() -> None:
    for detector, kind in [
        (EMAIL, "email"),
        (CARD, "payment_card"),
        (IBAN, "iban"),
        (SSN, "us_ssn"),
    ]:
        assert isinstance(detector, Detector)
        assert detector.type == kind
    assert EMAIL.detect("write to jane@example.com") == [
        Finding("email", 9, 25, "confidential", 1.0)
    ]
    assert repr(CARD) == "PaymentCardDetector(data_class='restricted')"


def test_findings_do_not_hold_the_value() -> None:
    (finding,) = CARD.detect("card 4111111111111111")
    assert "4111111111111111" not in repr(finding)


# --- email ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+tag@example.co.uk.", ["jane.doe+tag@example.co.uk"]),
        ("x@y.io and first_last@sub.example.org", ["x@y.io", "first_last@sub.example.org"]),
        ("<ops@example.com>", ["ops@example.com"]),
    ],
)
def test_email_found(text: str, expected: list[str]) -> None:
    assert found(EMAIL, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "no at sign here",
        "a@b",
        "user@localhost",
        "@example.com",
        "me@@example.com",
        "foo@example.com-suffix",
        "foo@example.c",
        "ping @channel please",
    ],
)
def test_email_not_found(text: str) -> None:
    assert found(EMAIL, text) == []


# --- payment cards ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111 1111 1111 1111", ["4111 1111 1111 1111"]),
        ("4111-1111-1111-1111", ["4111-1111-1111-1111"]),
        ("card: 4111111111111111.", ["4111111111111111"]),
        ("5555 5555 5555 4444 and 378282246310005", ["5555 5555 5555 4444", "378282246310005"]),
        ("discover 6011111111111117", ["6011111111111117"]),
        ("mc2 2223003122003222", ["2223003122003222"]),
        ("jcb 3530111333300000", ["3530111333300000"]),
        ("diners 30569309025904", ["30569309025904"]),
        ("unionpay 6200000000000005", ["6200000000000005"]),
        ("4111 1111 1111 1111 123 (cvv)", ["4111 1111 1111 1111"]),
        ("4111 1111 1111 1111 12/26", ["4111 1111 1111 1111"]),
        ("qty 12 4111111111111111", ["4111111111111111"]),
        ("card-4111111111111111", ["4111111111111111"]),
        (
            "call 555 1234 then 4111 1111 1111 1111 5555 5555 5555 4444",
            ["4111 1111 1111 1111", "5555 5555 5555 4444"],
        ),
    ],
)
def test_card_found(text: str, expected: list[str]) -> None:
    assert found(CARD, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "order 1234567812345678",  # 16 digits, Luhn fails
        "7992739871300000",  # unknown issuer prefix (Luhn-valid)
        "0000000000000000",
        "x4111111111111111",  # inside a longer token
        "4111111111111111abc",
        "ab12-4111111111111111",  # the tail of a dash-joined id
        "44111111111111111111111",  # a longer number
        "4111 1111 1111",  # too short
        "4111  1111  1111  1111",  # double separators break the number
        "phone +1 555 123 4567",
    ],
)
def test_card_not_found(text: str) -> None:
    assert found(CARD, text) == []


def test_luhn_and_issuer_helpers() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert card_issuer_known("4000")
    assert card_issuer_known("2720")
    assert not card_issuer_known("2721")
    assert card_issuer_known("6499")
    assert not card_issuer_known("6000")
    assert not card_issuer_known("1800")


# --- IBAN -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE89 3704 0044 0532 0130 00", ["DE89 3704 0044 0532 0130 00"]),
        ("pay to DE89370400440532013000 today", ["DE89370400440532013000"]),
        ("IBAN: GB82 WEST 1234 5698 7654 32.", ["GB82 WEST 1234 5698 7654 32"]),
        (
            "DE89370400440532013000 GB82WEST12345698765432",
            ["DE89370400440532013000", "GB82WEST12345698765432"],
        ),
        ("DE89 3704 0044 0532 0130 00 AND MORE", ["DE89 3704 0044 0532 0130 00"]),
        ("NO9386011117947", ["NO9386011117947"]),
        ("FR1420041010050500013M02606", ["FR1420041010050500013M02606"]),
    ],
)
def test_iban_found(text: str, expected: list[str]) -> None:
    assert found(IBAN, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "DE89370400440532013001",  # checksum fails
        "XDE89370400440532013000",  # inside a longer token
        "DE8937040044053201300012",  # longer than a German IBAN
        "ZZ89370400440532013000",  # no such country
        "DE89 3704 0044 0532",  # too short
        "de89370400440532013000",  # lower case is not matched
    ],
)
def test_iban_not_found(text: str) -> None:
    assert found(IBAN, text) == []


def test_iban_checksum_helper() -> None:
    assert iban_valid("GB82WEST12345698765432")
    assert not iban_valid("GB83WEST12345698765432")


# --- US SSN -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ssn 123-45-6789", ["123-45-6789"]), ("(078-05-1120)", ["078-05-1120"])],
)
def test_ssn_found(text: str, expected: list[str]) -> None:
    assert found(SSN, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "123456789",
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "999-12-3456",
        "123-00-4567",
        "123-45-0000",
        "1123-45-6789",
        "123-45-67890",
        "555-123-45-6789",
        "A123-45-6789",
    ],
)
def test_ssn_not_found(text: str) -> None:
    assert found(SSN, text) == []
