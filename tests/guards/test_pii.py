from __future__ import annotations

import pytest
from stdnum import iban as stdnum_iban

from zonegate.guards.base import Detector, Finding
from zonegate.guards.detectors.pii import (
    _BBAN_PART,
    _IBAN_LENGTHS,
    IBAN_COUNTRY_RULES,
    EmailDetector,
    IbanDetector,
    PaymentCardDetector,
    card_issuer_known,
    iban_valid,
    luhn_valid,
)


def found(detector: Detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text)]


EMAIL = EmailDetector(data_class="confidential")
CARD = PaymentCardDetector(data_class="restricted")
IBAN = IbanDetector(data_class="restricted")


def test_detectors_name_their_type_and_class_and_satisfy_the_protocol() -> None:
    for detector, kind in [
        (EMAIL, "email"),
        (CARD, "payment_card"),
        (IBAN, "iban"),
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
        ("a@b.io,c@d.io", ["a@b.io", "c@d.io"]),
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
        ".dot@example.com",
        "dots..twice@example.com",
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
        ("4111.1111.1111.1111", ["4111.1111.1111.1111"]),
        ("4111 1111-1111 1111", ["4111 1111-1111 1111"]),
        ("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", ["4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"]),
        ("maestro 6304 0000 0000", ["6304 0000 0000"]),
        ("jcb15 213100000000001", ["213100000000001"]),
        ("visa19 4111111111111111110", ["4111111111111111110"]),
        ("(4111111111111111)", ["4111111111111111"]),
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
        "pi 4.111111111111111",  # a decimal, not a dotted card
        "4111.1111.1111.1111.1",  # groups too short for a dotted card
        "5555 5555 5555 44444",  # Mastercard numbers have 16 digits
        "6304 0000 0001",  # Maestro length but Luhn fails
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
    assert card_issuer_known("1800")  # older 15-digit JCB numbers
    assert not card_issuer_known("1900")
    assert card_issuer_known("6304")  # Maestro


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
        ("gb82west12345698765432", ["gb82west12345698765432"]),  # all lower case
        ("iban:DE89370400440532013000.", ["DE89370400440532013000"]),
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
        "De89370400440532013000",  # mixed case is prose
        "GB82WEST12345698765433",  # mod-97 fails
        "GB82WEST1234569876543",  # one character short
    ],
)
def test_iban_not_found(text: str) -> None:
    assert found(IBAN, text) == []


def test_iban_checksum_helper() -> None:
    assert iban_valid("GB82WEST12345698765432")
    assert not iban_valid("GB83WEST12345698765432")
    assert not iban_valid("GB82WEST1234569876543A")  # the British format wants digits there


def test_iban_check_agrees_with_stdnum() -> None:
    """The check reads stdnum's registry once; each IBAN must get stdnum's own answer."""
    import random
    import string

    from stdnum import numdb

    rng = random.Random(3)
    registry = numdb.get("iban")
    kinds = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + "0"}
    numbers: list[str] = []
    for country in [*sorted(_IBAN_LENGTHS), "XX"]:
        structure = registry.info(country)[0][1].get("bban", "4!a6!n8!n")
        for _ in range(12):
            bban = "".join(
                rng.choice(kinds[kind])
                for size, kind in _BBAN_PART.findall(structure)
                for _ in range(int(size))
            )
            if rng.random() < 0.2:
                bban = bban[:-1] + rng.choice("0A")  # maybe off the country's structure
            number = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
            if rng.random() < 0.2:
                number = number[:2] + f"{rng.randrange(100):02d}" + number[4:]
            numbers += [number, number.lower()]
    numbers += ["", "GB", "GB82", "GB82WEST1234569876543\u00e9"]
    assert [n for n in numbers if iban_valid(n) != stdnum_iban.is_valid(n)] == []
    assert sum(iban_valid(n) for n in numbers) > len(numbers) // 2


def test_countries_with_iban_rules_of_their_own_are_listed() -> None:
    from stdnum.util import get_cc_module

    modules = {cc for cc in _IBAN_LENGTHS if get_cc_module(cc.lower(), "iban") is not None}
    assert modules == IBAN_COUNTRY_RULES


def test_iban_with_computed_check_digits() -> None:
    bban = "370400440532013000"
    check = stdnum_iban.calc_check_digits("DE00" + bban)
    text = f"pay DE{check} {bban[:4]} {bban[4:8]} {bban[8:12]} {bban[12:16]} {bban[16:]} now"
    assert found(IBAN, text) == [text[4:-4]]


def test_percent_encoded_emails_are_found() -> None:
    from zonegate.guards.detectors.pii import EmailDetector

    detector = EmailDetector(data_class="confidential")
    text = "see https://x.test/?u=jane.doe%40example.com&a=1"
    [finding] = detector.detect(text)
    assert text[finding.start : finding.end] == "jane.doe%40example.com"
    assert detector.detect("a 100%40 increase") == []
