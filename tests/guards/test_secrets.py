from __future__ import annotations

import pytest

from zonegate.guards.base import Detector, Finding
from zonegate.guards.detectors.secrets import (
    ApiKeyDetector,
    AwsAccessKeyDetector,
    AzureKeyDetector,
    GcpServiceAccountDetector,
    GithubTokenDetector,
    GitlabTokenDetector,
    GoogleApiKeyDetector,
    PrivateKeyDetector,
    SlackTokenDetector,
    StripeKeyDetector,
    TwilioKeyDetector,
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


# --- vendor tokens ----------------------------------------------------------------------------
# Shaped like the real thing, with made-up characters.

GITHUB_PAT = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_FINE = (
    "github_pat_11ABCDEFG0" + "123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
)
GITLAB = "glpat-" + "abcDEF123456ghiJKL78"
SLACK_BOT = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_HOOK = "https://hooks.slack.com/services/" + "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_RESTRICTED = "rk_live_" + "51H8abcDEFghiJKLmnoPQR"
TWILIO_KEY = "SK" + "0123456789abcdef0123456789abcdef"
TWILIO_ACCOUNT = "AC" + "0123456789abcdef0123456789abcdef"
GOOGLE = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"

TOKENS = [
    (GithubTokenDetector, "github_token", [GITHUB_PAT, GITHUB_FINE, "ghs_" + "x" * 36]),
    (GitlabTokenDetector, "gitlab_token", [GITLAB, "glrt-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7"]),
    (SlackTokenDetector, "slack_token", [SLACK_BOT, SLACK_HOOK, "xoxp-1234-5678-90ab-cdef"]),
    (StripeKeyDetector, "stripe_key", [STRIPE, STRIPE_RESTRICTED]),
    (TwilioKeyDetector, "twilio_key", [TWILIO_KEY, TWILIO_ACCOUNT]),
    (GoogleApiKeyDetector, "google_api_key", [GOOGLE]),
]


@pytest.mark.parametrize(
    ("cls", "kind", "token"), [(c, k, t) for c, k, tokens in TOKENS for t in tokens]
)
def test_vendor_token_found(cls: type[Detector], kind: str, token: str) -> None:
    detector = cls(data_class="restricted")  # type: ignore[call-arg]
    assert detector.type == kind
    for text in (f"token: {token}\n", f'{{"t": "{token}"}}', f"export X={token}"):
        assert found(detector, text) == [token]


@pytest.mark.parametrize(
    ("cls", "text"),
    [
        (GithubTokenDetector, "ghp_short and xghp_" + "a" * 36 + " and ghp-" + "a" * 36),
        (GitlabTokenDetector, "glpat-short and the glpat- prefix"),
        (SlackTokenDetector, "xoxb- and xoxz-123456789012 and hooks.slack.com/services/T0"),
        (StripeKeyDetector, "sk_live_short, pk_live_" + "a" * 24),  # publishable keys are public
        (TwilioKeyDetector, "SK" + "0123456789ABCDEF" * 2 + " and AC" + "0123" * 7),
        (GoogleApiKeyDetector, "AIza" + "x" * 20),
    ],
)
def test_vendor_token_not_found(cls: type[Detector], text: str) -> None:
    assert found(cls(data_class="restricted"), text) == []  # type: ignore[call-arg]


# --- cloud credentials --------------------------------------------------------------------------

GCP = (
    '{"type": "service_account", "project_id": "p", "private_key_id": "0a1b",'
    ' "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n",'
    ' "client_email": "svc@p.iam.gserviceaccount.com"}'
)


def test_gcp_service_account_key_entry_found() -> None:
    (value,) = found(GcpServiceAccountDetector(data_class="restricted"), GCP)
    assert value.startswith('"private_key": "-----BEGIN')
    assert value.endswith('-----END PRIVATE KEY-----\\n"')


def test_gcp_without_a_key_or_not_a_service_account() -> None:
    detector = GcpServiceAccountDetector(data_class="restricted")
    assert found(detector, GCP.replace('"private_key":', '"public_key":')) == []
    assert found(detector, GCP.replace("service_account", "authorized_user")) == []


AZURE_KEY = ("A1b2C3d4" * 11)[:86] + "=="


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
            f"{AZURE_KEY};EndpointSuffix=core.windows.net",
            AZURE_KEY,
        ),
        (
            "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;"
            "SharedAccessKey=" + "Q" * 43 + "=",
            "Q" * 43 + "=",
        ),
        (
            "https://a.blob.core.windows.net/c/f?sv=2022-11-02&ss=b&se=2030&sig="
            + "abcdEFGH1234" * 4
            + "%3D",
            "abcdEFGH1234" * 4 + "%3D",
        ),
    ],
)
def test_azure_key_found(text: str, expected: str) -> None:
    assert found(AzureKeyDetector(data_class="restricted"), text) == [expected]


def test_azure_not_found() -> None:
    detector = AzureKeyDetector(data_class="restricted")
    assert found(detector, "AccountKey=<your-key>; and AccountName=acct") == []
    assert found(detector, "https://x.test/?sig=" + "a" * 44) == []  # no SAS version: not SAS
