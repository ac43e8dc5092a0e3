"""Content retention: none, hash, redacted (or hashes when no redactor), full."""

from __future__ import annotations

import hashlib

import pytest

from zonegate.audit.chain import canonical_json
from zonegate.audit.content import retained_content

BODY = {
    "model": "assistant",
    "messages": [{"role": "user", "content": "card 4111 1111 1111 1111, mail a@b.example"}],
    "temperature": 0.2,
}
RESPONSE = "I will not repeat 4111 1111 1111 1111."


def _redact(text: str) -> str:
    return text.replace("4111 1111 1111 1111", "[CARD]").replace("a@b.example", "[EMAIL]")


def test_none_keeps_nothing() -> None:
    assert retained_content("none", BODY, RESPONSE) is None


def test_hash_keeps_digests_only() -> None:
    kept = retained_content("hash", BODY, RESPONSE)
    assert kept == {
        "mode": "hash",
        "request_sha256": hashlib.sha256(canonical_json(BODY)).hexdigest(),
        "response_sha256": hashlib.sha256(RESPONSE.encode()).hexdigest(),
    }
    assert retained_content("hash", BODY, None) == {**kept, "response_sha256": None}


def test_redacted_passes_every_string_value_through_the_redactor() -> None:
    kept = retained_content("redacted", BODY, RESPONSE, redacted=_redact)
    assert kept is not None
    assert kept["mode"] == "redacted"
    assert kept["request"]["messages"][0] == {
        "role": "user",
        "content": "card [CARD], mail [EMAIL]",
    }
    assert kept["request"]["temperature"] == 0.2
    assert kept["response"] == "I will not repeat [CARD]."
    assert "4111" not in repr(kept)


def test_redacted_without_a_redactor_falls_back_to_hashes_and_says_so() -> None:
    kept = retained_content("redacted", BODY, RESPONSE)
    assert kept is not None
    assert kept["mode"] == "hash"
    assert kept["requested_mode"] == "redacted"
    assert "no redaction function" in kept["note"]
    assert kept["request_sha256"] == hashlib.sha256(canonical_json(BODY)).hexdigest()
    assert "4111" not in repr(kept)


def test_redacted_covers_keys_and_numbers_the_detectors_scan() -> None:
    body = {
        "model": "m",
        "metadata": {"a@b.example": "owner"},
        "card": 4111111111111111,
        "n": 3,
        "flag": True,
    }

    def redact(text: str) -> str:
        return _redact(text).replace("4111111111111111", "[CARD]")

    kept = retained_content("redacted", body, None, redacted=redact)
    assert kept is not None
    assert kept["request"] == {
        "model": "m",
        "metadata": {"[EMAIL]": "owner"},
        "card": "[CARD]",
        "n": 3,
        "flag": True,
    }
    assert kept["response"] is None


def test_a_failing_redactor_keeps_hashes_never_the_text() -> None:
    def broken(text: str) -> str:
        raise RuntimeError(text)

    kept = retained_content("redacted", BODY, RESPONSE, redacted=broken)
    assert kept is not None
    assert kept["mode"] == "hash"
    assert kept["note"] == "redaction failed (RuntimeError), so only hashes were kept"
    assert "4111" not in repr(kept)


def test_full_keeps_everything() -> None:
    assert retained_content("full", BODY, RESPONSE) == {
        "mode": "full",
        "request": BODY,
        "response": RESPONSE,
    }


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown content retention mode 'all'"):
        retained_content("all", BODY, RESPONSE)
