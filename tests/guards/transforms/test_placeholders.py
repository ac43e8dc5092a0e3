from __future__ import annotations

import json

import pytest

from zonegate.guards.transforms import json_text
from zonegate.guards.transforms.placeholders import (
    MAX_LABEL,
    MAX_PLACEHOLDER,
    PLACEHOLDER_SHAPE,
    label,
    pseudonym,
    redacted,
)
from zonegate.guards.transforms.spans import Span


@pytest.mark.parametrize(
    ("finding_type", "expected"),
    [
        ("email", "EMAIL"),
        ("payment-card", "PAYMENT_CARD"),
        ("us ssn (v2)", "US_SSN_V2"),
        ("__x__", "X"),
        ("é!", "DATA"),
        ("", "DATA"),
    ],
)
def test_labels_are_upper_case_identifiers(finding_type: str, expected: str) -> None:
    assert label(finding_type) == expected


def test_labels_are_bounded_so_placeholders_are() -> None:
    long = label("a_" * 100)
    assert len(long) <= MAX_LABEL
    assert not long.endswith("_")
    assert len(pseudonym(label("x" * 500), 10**19)) <= MAX_PLACEHOLDER <= 64


def test_pseudonyms_match_the_restore_shape_and_redactions_do_not() -> None:
    assert PLACEHOLDER_SHAPE.fullmatch(pseudonym("EMAIL", 12))
    assert not PLACEHOLDER_SHAPE.search(redacted("EMAIL"))


def test_json_pieces_widen_to_whole_number_tokens_and_skip_structure() -> None:
    raw = '{"n": 12345, "s": "abc", "t": true}'
    span = Span(raw.index("234"), raw.index("234") + 3, "num", "redact")
    (piece,) = json_text.pieces(raw, [span])
    assert raw[piece.start : piece.end] == "12345"
    assert piece.number
    structure = Span(raw.index(", "), raw.index('"s"'), "x", "redact")
    assert json_text.pieces(raw, [structure]) == []
    literal = Span(raw.index("true"), raw.index("true") + 4, "x", "redact")
    assert json_text.pieces(raw, [literal]) == []


def test_json_pieces_from_neighbouring_findings_are_merged() -> None:
    raw = json.dumps({"k": 'a"b'})  # {"k": "a\"b"}
    slash = raw.index("\\")
    spans = [
        Span(slash - 1, slash + 1, "left", "pseudonymise"),
        Span(slash + 1, slash + 3, "right", "redact"),
    ]
    (piece,) = json_text.pieces(raw, spans)
    assert raw[piece.start : piece.end] == 'a\\"b'
    assert piece.action == "redact"
    assert json_text.decode(raw[piece.start : piece.end]) == 'a"b'


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{}", True), (' [1, "x"]', True), ('"s"', False), ("12", False), ("{", False), ("", False)],
)
def test_only_json_objects_and_arrays_are_handled_as_json(text: str, expected: bool) -> None:
    assert json_text.is_json_container(text) is expected
