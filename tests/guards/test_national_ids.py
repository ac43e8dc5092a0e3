"""National identifiers: valid numbers are built with their check-digit rule, then found."""

from __future__ import annotations

import pytest
from stdnum import verhoeff
from stdnum.br import cnpj
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale

from zonegate.guards.base import Detector
from zonegate.guards.detectors.national_ids import (
    BrCnpjDetector,
    BrCpfDetector,
    DeTaxIdDetector,
    EsDniDetector,
    EsNieDetector,
    EuVatDetector,
    FrNirDetector,
    InAadhaarDetector,
    InPanDetector,
    ItFiscalCodeDetector,
    NlBsnDetector,
    UkNinoDetector,
    UsItinDetector,
    UsSsnDetector,
)


def found(detector: Detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text)]


def bump(number: str, index: int = -1) -> str:
    """The same number with one digit changed: its check must fail."""
    digits = list(number)
    position = index % len(digits)
    digits[position] = str((int(digits[position]) + 1) % 10)
    return "".join(digits)


# --- check-digit rules, written out here so the tests do not trust the code they test -----------


def idnr_check(first_ten: str) -> str:
    """ISO 7064 MOD 11,10 (German tax id)."""
    product = 10
    for digit in first_ten:
        total = (int(digit) + product) % 10 or 10
        product = total * 2 % 11
    return str((11 - product) % 10)


def bsn_check(first_eight: str) -> str | None:
    """The Dutch 11-test: weights 9..2 and -1 for the last digit."""
    total = sum(int(d) * w for d, w in zip(first_eight, range(9, 1, -1), strict=True))
    last = total % 11
    return str(last) if last < 10 else None


def cpf_checks(first_nine: str) -> str:
    digits = [int(d) for d in first_nine]
    for _ in range(2):
        weight = len(digits) + 1
        total = sum(d * (weight - i) for i, d in enumerate(digits))
        digits.append(0 if total % 11 < 2 else 11 - total % 11)
    return "".join(str(d) for d in digits)


DE_IDNR = "3657426180" + idnr_check("3657426180")
NL_BSN = "11122233" + str(bsn_check("11122233"))
CPF = cpf_checks("111444777")
CNPJ = "112223330001" + cnpj.calc_check_digits("112223330001")
AADHAAR = "23456789012" + verhoeff.calc_check_digit("23456789012")
NIR = "1841276451089" + nir.calc_check_digits("1841276451089")
DNI = "12345678" + dni.calc_check_digit("12345678")
NIE = "X1234567" + nie.calc_check_digit("X1234567")
FISCAL = "RSSMRA85T10A562" + codicefiscale.calc_check_digit("RSSMRA85T10A562")


def test_generated_numbers_follow_the_published_examples() -> None:
    assert DE_IDNR == "36574261809"  # the example in the stdnum documentation
    assert CPF == "11144477735"
    assert FISCAL == "RSSMRA85T10A562S"
    assert NIE == "X1234567L"


def spaced(number: str, groups: tuple[int, ...], sep: str = " ") -> str:
    parts, i = [], 0
    for size in groups:
        parts.append(number[i : i + size])
        i += size
    return sep.join(parts)


CASES: list[tuple[Detector, str, str]] = [
    (UsSsnDetector(data_class="r"), "ssn on file: {}.", "536-22-8726"),
    (UsSsnDetector(data_class="r"), "{}", "536 22 8726"),
    (UsSsnDetector(data_class="r"), "SSN: {}", "536228726"),
    (UsItinDetector(data_class="r"), "itin {}", "912-70-1234"),
    (UsItinDetector(data_class="r"), "ITIN {}", "912701234"),
    (UkNinoDetector(data_class="r"), "NI number {}", "AB 12 34 56 C"),
    (UkNinoDetector(data_class="r"), "({})", "JG103759A"),
    (DeTaxIdDetector(data_class="r"), "Steuer-ID: {}", DE_IDNR),
    (DeTaxIdDetector(data_class="r"), "{}", spaced(DE_IDNR, (2, 3, 3, 3))),
    (FrNirDetector(data_class="r"), "carte vitale {}", spaced(NIR, (1, 2, 2, 2, 3, 3, 2))),
    (FrNirDetector(data_class="r"), "numéro de sécurité sociale {}", NIR),
    (EsDniDetector(data_class="r"), "DNI {}", DNI),
    (EsDniDetector(data_class="r"), "{}", DNI[:8] + "-" + DNI[8]),
    (EsNieDetector(data_class="r"), "NIE {}", NIE),
    (ItFiscalCodeDetector(data_class="r"), "codice fiscale {}", FISCAL),
    (NlBsnDetector(data_class="r"), "BSN: {}", NL_BSN),
    (NlBsnDetector(data_class="r"), "burgerservicenummer {}", spaced(NL_BSN, (4, 2, 3), ".")),
    (InAadhaarDetector(data_class="r"), "{}", spaced(AADHAAR, (4, 4, 4))),
    (InAadhaarDetector(data_class="r"), "Aadhaar no {}", AADHAAR),
    (InPanDetector(data_class="r"), "PAN {}", "ABCPE1234F"),
    (BrCpfDetector(data_class="r"), "{}", f"{CPF[:3]}.{CPF[3:6]}.{CPF[6:9]}-{CPF[9:]}"),
    (BrCpfDetector(data_class="r"), "CPF {}", CPF),
    (
        BrCnpjDetector(data_class="r"),
        "{}",
        f"{CNPJ[:2]}.{CNPJ[2:5]}.{CNPJ[5:8]}/{CNPJ[8:12]}-{CNPJ[12:]}",
    ),
    (BrCnpjDetector(data_class="r"), "CNPJ: {}", CNPJ),
    (EuVatDetector(data_class="r"), "USt-IdNr. {}", "DE136695976"),
    (EuVatDetector(data_class="r"), "BTW {}.", "NL004495445B01"),
    (EuVatDetector(data_class="r"), "TVA {}", "FR 40 303 265 045"),
]


@pytest.mark.parametrize(("detector", "template", "value"), CASES)
def test_found_with_its_span(detector: Detector, template: str, value: str) -> None:
    text = template.format(value)
    assert found(detector, text) == [value]
    assert isinstance(detector, Detector)


@pytest.mark.parametrize(
    ("detector", "text"),
    [
        # check digits fail
        (UsSsnDetector(data_class="r"), "ssn 000-12-3456"),
        (UsSsnDetector(data_class="r"), "ssn 666-12-3456 and 123-00-4567 and 123-45-0000"),
        (UsSsnDetector(data_class="r"), "078-05-1120"),  # the Woolworth wallet card number
        (DeTaxIdDetector(data_class="r"), f"Steuer-ID {bump(DE_IDNR)}"),
        (FrNirDetector(data_class="r"), spaced(bump(NIR), (1, 2, 2, 2, 3, 3, 2))),
        (EsDniDetector(data_class="r"), "DNI 12345678A"),
        (EsNieDetector(data_class="r"), "X1234567A"),
        (ItFiscalCodeDetector(data_class="r"), "RSSMRA85T10A562X"),
        (NlBsnDetector(data_class="r"), f"BSN {bump(NL_BSN)}"),
        (InAadhaarDetector(data_class="r"), spaced(bump(AADHAAR), (4, 4, 4))),
        (BrCpfDetector(data_class="r"), "111.444.777-36"),
        (BrCnpjDetector(data_class="r"), "11.222.333/0001-82"),
        (EuVatDetector(data_class="r"), "DE136695977"),
        (UkNinoDetector(data_class="r"), "GB 12 34 56 A and QQ123456C and AB123456E"),
        (InPanDetector(data_class="r"), "ABCXE1234F and ABCPE0000F"),
        # bare digits without a word naming them
        (UsSsnDetector(data_class="r"), "order 536228726"),
        (UsItinDetector(data_class="r"), "ref 912701234"),
        (DeTaxIdDetector(data_class="r"), f"invoice {DE_IDNR}"),
        (FrNirDetector(data_class="r"), f"tracking {NIR}"),
        (NlBsnDetector(data_class="r"), f"order {NL_BSN}"),
        (InAadhaarDetector(data_class="r"), f"id {AADHAAR}"),
        (BrCpfDetector(data_class="r"), f"pedido {CPF}"),
        (BrCnpjDetector(data_class="r"), f"pedido {CNPJ}"),
        # glued to a longer token
        (UsSsnDetector(data_class="r"), "x536-22-8726 and 536-22-87260 and 1-536-22-8726"),
        (EsDniDetector(data_class="r"), f"A{DNI} and {DNI}X"),
        (BrCpfDetector(data_class="r"), "1111.444.777-35"),
        (EuVatDetector(data_class="r"), "XDE136695976 and DESCRIPTION 1234567"),
    ],
)
def test_not_found(detector: Detector, text: str) -> None:
    assert found(detector, text) == []


def test_ssn_and_itin_do_not_overlap() -> None:
    text = "536-22-8726 and 912-70-1234"
    assert found(UsSsnDetector(data_class="r"), text) == ["536-22-8726"]
    assert found(UsItinDetector(data_class="r"), text) == ["912-70-1234"]


def test_context_word_after_the_number_counts() -> None:
    assert found(NlBsnDetector(data_class="r"), f"{NL_BSN} (BSN)") == [NL_BSN]


def test_every_identifier_detector_needs_digits() -> None:
    for detector, _, _ in CASES:
        assert detector.needs_digits is True  # type: ignore[attr-defined]
        assert detector.joinable is True  # type: ignore[attr-defined]


def test_dash_written_9xx_ssns_are_treated_as_ssns() -> None:
    from zonegate.guards.detectors.national_ids import UsSsnDetector

    detector = UsSsnDetector(data_class="restricted")
    assert [(f.start, f.end) for f in detector.detect("SSN 958-31-9008")] == [(4, 15)]
    assert detector.detect("958-00-9008") == []  # group 00: not an SSN shape anyone uses
    assert detector.detect("958 31 9008") == []  # space-written 9xx: too ambiguous
    assert detector.detect("part A958-31-9008") == []  # glued into a longer token


def test_corsican_nir_is_found() -> None:
    body = "284122A451089"  # born in Corsica (department 2A)
    value = body + nir.calc_check_digits(body)
    text = f"carte vitale {value[0]} {value[1:3]} {value[3:5]} {value[5:7]} {value[7:10]} "
    text += f"{value[10:13]} {value[13:]}"
    assert found(FrNirDetector(data_class="r"), text) == [text[len("carte vitale ") :]]


def test_a_dni_is_eight_digits_in_a_row() -> None:
    assert found(EsDniDetector(data_class="r"), f"DNI {DNI}") == [DNI]
    # the digits of a date are not a DNI, whatever letter follows
    assert found(EsDniDetector(data_class="r"), "on 2023-05-14T10:00 and 14.05.2023Z") == []


def test_ssn_check_agrees_with_stdnum() -> None:
    from stdnum.us import ssn

    detector = UsSsnDetector(data_class="r")
    numbers = [
        f"{area:03d}{group:02d}{serial}"
        for area in range(0, 1000, 7)
        for group in (0, 1, 5, 99)
        for serial in ("0000", "0001", "1120", "8726")
    ] + ["078051120", "457555462", "219099999"]
    assert [n for n in numbers if detector._valid(n) != ssn.is_valid(n)] == []
    assert any(detector._valid(n) for n in numbers)
