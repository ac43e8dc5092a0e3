from __future__ import annotations

import pytest

from zonegate.guards.base import Detector, Finding
from zonegate.guards.detectors.secrets import (
    ApiKeyDetector,
    AwsAccessKeyDetector,
    PrivateKeyDetector,
)

KEY = PrivateKeyDetector(data_class="restricted")
AWS = AwsAccessKeyDetector(data_class="restricted")
API = ApiKeyDetector(data_class="restricted")

RSA_BLOCK = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAx3Q0pW1b9vK2\n"
    "q1w2e3r4t5y6u7i8o9p0+/==\n"
    "-----END RSA PRIVATE KEY-----"
)


def found(detector: Detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text)]


def test_types_and_protocol() -> None:
    for detector, kind in [(KEY, "private_key"), (AWS, "aws_access_key"), (API, "api_key")]:
        assert isinstance(detector, Detector)
        assert detector.type == kind
    assert AWS.detect("id AKIAIOSFODNN7EXAMPLE") == [
        Finding("aws_access_key", 3, 23, "restricted", 1.0)
    ]


# --- private keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [
        RSA_BLOCK,
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1\n-----END OPENSSH PRIVATE KEY-----",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkq\n-----END ENCRYPTED PRIVATE KEY-----",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----",
    ],
)
def test_whole_private_key_block_found(block: str) -> None:
    text = f"here is my key:\n{block}\nthanks"
    assert found(KEY, text) == [block]


def test_truncated_block_covers_header_and_base64_lines() -> None:
    text = (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        "Proc-Type: 4,ENCRYPTED\n"
        "MIIEowIBAAKCAQEA\n"
        "abc+/=\n"
        "what does this key do?"
    )
    assert found(KEY, text) == [text[: text.index("\nwhat")]]


def test_two_blocks_are_two_findings() -> None:
    text = f"{RSA_BLOCK}\nand\n{RSA_BLOCK}"
    assert found(KEY, text) == [RSA_BLOCK, RSA_BLOCK]


@pytest.mark.parametrize(
    "text",
    [
        "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIDdz\n-----END CERTIFICATE-----",
        "how do I load a PRIVATE KEY file in Python?",
    ],
)
def test_no_private_key(text: str) -> None:
    assert found(KEY, text) == []


# --- AWS access keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AKIAIOSFODNN7EXAMPLE", ["AKIAIOSFODNN7EXAMPLE"]),
        ("aws_access_key_id=ASIAY34FZKBOKMUTVV7A;", ["ASIAY34FZKBOKMUTVV7A"]),
        ('"AKIAIOSFODNN7EXAMPLE"', ["AKIAIOSFODNN7EXAMPLE"]),
    ],
)
def test_aws_key_found(text: str, expected: list[str]) -> None:
    assert found(AWS, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "xAKIAIOSFODNN7EXAMPLE",  # inside a longer token
        "AKIAIOSFODNN7EXAMPLEX",  # 17 characters after the prefix
        "AKIAIOSFODNN7EXAMPL",  # 15
        "AKIAiosfodnn7example",  # lower case
        "AGPAIOSFODNN7EXAMPLE",  # not an access key prefix
        "nothing here",
    ],
)
def test_aws_key_not_found(text: str) -> None:
    assert found(AWS, text) == []


# --- sk- API keys -----------------------------------------------------------------------------

OPENAI_LEGACY = "sk-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kLm6n"
OPENAI_PROJECT = "sk-proj-" + "Xy7_Zq-2Lm9Pk4Wt1Rb8Nc5Vd3Hs6Jf0Ga"
ANTHROPIC = "sk-ant-api03-" + "Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc-VbNm_AA"


@pytest.mark.parametrize("key", [OPENAI_LEGACY, OPENAI_PROJECT, ANTHROPIC])
def test_api_key_found(key: str) -> None:
    assert found(API, f"OPENAI_API_KEY={key}\n") == [key]
    assert found(API, f'{{"key": "{key}"}}') == [key]


@pytest.mark.parametrize(
    "text",
    [
        "sk-short1234",  # fewer than 20 characters
        "sk-proj-Ab3dEf6hIj9kLm2",  # fewer than 20 after the sk-proj- prefix
        "task-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wX",  # inside a longer token
        "use sk-learn-is-a-popular-python-library",  # a lower-case slug
        "no keys here",
    ],
)
def test_api_key_not_found(text: str) -> None:
    assert found(API, text) == []
