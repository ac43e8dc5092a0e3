"""Canonical serialisation and the chain hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from zonegate.audit.chain import (
    GENESIS_HASH,
    canonical_json,
    datetime_text,
    decimal_text,
    record_hash,
)


def test_canonical_json_is_sorted_compact_and_ascii() -> None:
    value = {"b": [1, 2.5, None, True], "a": {"z": "é", "y": "x"}}
    assert canonical_json(value) == b'{"a":{"y":"x","z":"\\u00e9"},"b":[1,2.5,null,true]}'
    assert canonical_json(value) == canonical_json(json.loads(canonical_json(value)))


def test_decimals_are_normalised_strings() -> None:
    assert decimal_text(Decimal("1.50")) == "1.5"
    assert decimal_text(Decimal("1.5000000000")) == "1.5"
    assert decimal_text(Decimal("100")) == "100"
    assert decimal_text(Decimal("1E+2")) == "100"
    assert decimal_text(Decimal("0E-10")) == "0"
    assert decimal_text(Decimal("-0.00012")) == "-0.00012"
    assert canonical_json({"cost": Decimal("0.000100")}) == b'{"cost":"0.0001"}'
    with pytest.raises(ValueError, match="non-finite"):
        decimal_text(Decimal("NaN"))


def test_datetimes_are_utc_iso_with_microseconds() -> None:
    plus2 = timezone(timedelta(hours=2))
    moment = datetime(2026, 1, 1, 14, 0, tzinfo=plus2)
    assert datetime_text(moment) == "2026-01-01T12:00:00.000000+00:00"
    assert datetime_text(datetime(2026, 1, 1, 12, 0)) == "2026-01-01T12:00:00.000000+00:00"
    assert canonical_json([moment]) == canonical_json([moment.astimezone(UTC)])


def test_values_that_cannot_be_recorded_are_refused() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"latency": float("nan")})
    with pytest.raises(TypeError, match="cannot be recorded"):
        canonical_json({"x": object()})


def test_record_hash_binds_previous_hash_position_and_payload() -> None:
    payload = canonical_json({"request_id": "r1", "status": 200})
    h = record_hash(GENESIS_HASH, 1, payload)
    expected = hashlib.sha256(f"{GENESIS_HASH}:1:".encode() + payload).hexdigest()
    assert h == expected
    assert len(h) == 64
    assert GENESIS_HASH == "0" * 64
    assert record_hash(GENESIS_HASH, 2, payload) != h
    assert record_hash("1" * 64, 1, payload) != h
    assert record_hash(GENESIS_HASH, 1, canonical_json({"request_id": "r1", "status": 201})) != h
