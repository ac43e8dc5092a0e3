"""Dates of birth in context, postal addresses and IP addresses."""

from __future__ import annotations

import pytest

from zonegate.guards.base import Detector
from zonegate.guards.classify import SEPARATOR
from zonegate.guards.detectors.contact import DateOfBirthDetector, PostalAddressDetector
from zonegate.guards.detectors.network import IpAddressDetector

DOB = DateOfBirthDetector(data_class="confidential")
ADDRESS = PostalAddressDetector(data_class="confidential")
IP = IpAddressDetector(data_class="confidential")


def found(detector: Detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DOB: 12/31/1980", ["12/31/1980"]),
        ("date of birth: 1980-05-17", ["1980-05-17"]),
        ("born on 3 March 1985 in Leeds", ["3 March 1985"]),
        ("born on March 3rd, 1985", ["March 3rd, 1985"]),
        ("Geburtsdatum 03.04.1975", ["03.04.1975"]),
        ("geboren am 3. Mai 1975", ["3. Mai 1975"]),
        ("née le 12 mars 1990", ["12 mars 1990"]),
        ("fecha de nacimiento: 05/06/1970", ["05/06/1970"]),
        ('{"dob": "1980-05-01"}', ["1980-05-01"]),
        (f"date_of_birth{SEPARATOR}04/05/1970", ["04/05/1970"]),  # a key and its value
        ("D.O.B. 1/2/1990 and dob 3/4/1991", ["1/2/1990", "3/4/1991"]),
        ('{"dateOfBirth":"1975-12-01"}', ["1975-12-01"]),
    ],
)
def test_date_of_birth_found(text: str, expected: list[str]) -> None:
    assert found(DOB, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "meeting on 12/31/2024",  # a date without a birth word
        "born in 1985",  # a year is not a date of birth
        "DOB 32/13/1980",  # no such day
        "born on 1/2/1850",  # before 1900
        "date of birth is required; see the form. Deadline 12/31/2024 in a later sentence",
        "no digits about birth",
    ],
)
def test_date_of_birth_not_found(text: str) -> None:
    assert found(DOB, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Ship to 1600 Pennsylvania Avenue NW, Washington, DC 20500 please",
            "1600 Pennsylvania Avenue NW, Washington, DC 20500",
        ),
        ("742 Evergreen Terrace, Springfield, OR 97403", None),
        ("Send to 221B Baker Street, London NW1 6XE.", "221B Baker Street, London NW1 6XE"),
        ("10 Downing Street, SW1A 2AA", None),
        ("3 Main St", None),
        ("Wohnt in Hauptstraße 5, 10115 Berlin.", "Hauptstraße 5, 10115 Berlin"),
        ("Berliner Straße 12, 10117 Berlin", None),
        ("Musterstr. 12a", None),
        ("Kalverstraat 12, 1012 NX Amsterdam", None),
        ("12 rue de la Paix, 75002 Paris", None),
        ("Calle Mayor 5, 28013 Madrid", None),
        ("Via Roma 10, 00184 Roma", None),
        ("Rua Augusta, n.º 100, 1100-053 Lisboa", None),
    ],
)
def test_address_found(text: str, expected: str | None) -> None:
    assert found(ADDRESS, text) == [expected or text]


@pytest.mark.parametrize(
    "text",
    [
        "I have 2 Big Dogs",
        "chapter 3 Way forward",
        "in 2024 we moved 12 boxes",
        "Street food for 5 people",
        "page 12, section 3",
    ],
)
def test_address_not_found(text: str) -> None:
    assert found(ADDRESS, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host 10.1.2.3 and 192.168.0.10.", ["10.1.2.3", "192.168.0.10"]),
        ("ip=8.8.8.8", ["8.8.8.8"]),
        ("server:10.0.0.1", ["10.0.0.1"]),
        ("2001:db8::8a2e:370:7334", ["2001:db8::8a2e:370:7334"]),
        ("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:443", None),
        ("::ffff:192.0.2.128", ["::ffff:192.0.2.128"]),
    ],
)
def test_ip_found(text: str, expected: list[str] | None) -> None:
    assert found(IP, text) == (expected or ["2001:0db8:85a3:0000:0000:8a2e:0370:7334"])


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3.4",
        "v1.2.3.4",
        "Release 2.0.0.1 is out",
        "build: 10.0.19041.1",
        "OID 1.3.6.1.4.1",
        "127.0.0.1 and 0.0.0.0 and 255.255.255.255",
        "mask 255.255.255.0",
        "999.1.1.1 and 01.02.03.04",
        "::1 and fe80::1",
        "std::vector<int> at 12:30:45",
    ],
)
def test_ip_not_found(text: str) -> None:
    assert found(IP, text) == []


def test_ipv6_in_prose_full_of_colons() -> None:
    text = "Note: customer says: host 2001:db8::8a2e:370:7334 is down: retry at 10:30, ok: face: de"
    assert found(IP, text) == ["2001:db8::8a2e:370:7334"]
    assert found(IP, "Re: a:b:c and cafe:babe: and dead:beef:") == []
