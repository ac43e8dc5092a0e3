"""JWTs, passwords in URLs and connection strings, high-entropy secret assignments."""

from __future__ import annotations

import base64
import json

import pytest

from zonegate.guards.base import Detector
from zonegate.guards.classify import SEPARATOR
from zonegate.guards.detectors.credentials import (
    ConnectionStringPasswordDetector,
    JwtDetector,
    SecretAssignmentDetector,
    UrlPasswordDetector,
    is_placeholder,
    shannon_entropy,
)

JWT = JwtDetector(data_class="restricted")
URL = UrlPasswordDetector(data_class="restricted")
CONN = ConnectionStringPasswordDetector(data_class="restricted")
ASSIGN = SecretAssignmentDetector(data_class="restricted")


def found(detector: Detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text)]


def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


TOKEN = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': '1234567890'})}.SflKxwRJSMeKKF2QT4fw"
UNSIGNED = f"{b64({'alg': 'none'})}.{b64({'sub': 'x', 'admin': True})}."


@pytest.mark.parametrize("token", [TOKEN, UNSIGNED])
def test_jwt_found(token: str) -> None:
    assert found(JWT, f"Authorization: Bearer {token}\n") == [token]


@pytest.mark.parametrize(
    "text",
    [
        f"{b64({'typ': 'JWT'})}.{b64({'sub': '1'})}.sig",  # no alg in the header
        "eyJub3QganNvbg.eyJzdWIiOiIxIn0.abc",  # header is not JSON
        f"x{TOKEN}",  # glued
        "eyJhbGciOiJIUzI1NiJ9",  # one segment
    ],
)
def test_jwt_not_found(text: str) -> None:
    assert found(JWT, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://admin:S3cr3tP4ss@db.example.com:5432/app", "S3cr3tP4ss"),
        ("redis://:hunter2x@localhost:6379", "hunter2x"),
        ("git clone https://bob:ghp_abc123@github.com/o/r.git", "ghp_abc123"),
    ],
)
def test_url_password_found(text: str, expected: str) -> None:
    assert found(URL, text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "https://user:<password>@host",
        "https://user:${DB_PASS}@host",
        "postgres://user:****@host",
        "mailto:x@y.com",
        "see https://example.com:8080/x@y",
        "https://host/path",
    ],
)
def test_url_password_not_found(text: str) -> None:
    assert found(URL, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Server=tcp:db;Database=app;User ID=sa;Password=Hunter2!;", "Hunter2!"),
        ("host=db user=app password=s3cr3t dbname=x", "s3cr3t"),
        ('Data Source=db;Initial Catalog=x;Pwd="p;w d";', "p;w d"),
        ("Driver={ODBC};Server=db;PWD={br{ace};", "br{ace"),
    ],
)
def test_connection_string_password_found(text: str, expected: str) -> None:
    assert found(CONN, text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Password=changeme;Server=x",
        "my password=abc is weak",  # no connection keys around it
        "Server=db;Password=${DB_PASSWORD};",
        "DB_PASSWORD=x; server=y",  # a variable, left to the assignment detector
    ],
)
def test_connection_string_password_not_found(text: str) -> None:
    assert found(CONN, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DB_PASSWORD=hG7$kL9@pQ2!xZ", "hG7$kL9@pQ2!xZ"),
        ('"client_secret": "9f8e7d6c5b4a3f2e1d0c"', "9f8e7d6c5b4a3f2e1d0c"),
        ("api_key: 'Zx81_Qm2-Lp0aW'", "Zx81_Qm2-Lp0aW"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQQQLEKEY", None),
        ("auth_token => 'T0k3nV4lu3xyz'", "T0k3nV4lu3xyz"),
        (f"password{SEPARATOR}R4nd0m!Str1ng#42", "R4nd0m!Str1ng#42"),  # a JSON key and value
    ],
)
def test_secret_assignment_found(text: str, expected: str | None) -> None:
    value = expected or text.split("=", 1)[1]
    assert found(ASSIGN, text) == [value]


@pytest.mark.parametrize(
    "text",
    [
        'password = "changeme"',
        "token = get_token()",
        "password: settings.DB_PASSWORD",
        "api_key: ${API_KEY}",
        'secret_key = "short"',
        "The token was expired, please retry",
        'password = "aaaaaaaaaaaa"',  # low entropy
        'password = "hunter2hunter2"',  # low entropy: a weak password is a gap (documented)
        "api_key=<your-api-key>",
        'token: "{{ vault_token }}"',
        'access_key = "AKIAIOSFODNN7EXAMPLE"',  # AWS's documentation key
        "keyboard = 'Qw3rTy9!Zx81'",  # not a secret name
    ],
)
def test_secret_assignment_not_found(text: str) -> None:
    assert found(ASSIGN, text) == []


def test_entropy_and_placeholders() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    for value in ["changeme", "<your-key>", "${TOKEN}", "****", "xxxxxxxx", "%PASSWORD%", "null"]:
        assert is_placeholder(value), value
    assert not is_placeholder("hG7$kL9@pQ2!xZ")
