"""The hash chain: a canonical serialisation of a row and the hash that links it to the last.

``hash(n) = sha256(prev_hash(n) ":" seq(n) ":" canonical(payload(n)))`` with
``prev_hash(n) = hash(n - 1)`` and 64 zeros before the first record. The payload is every column
but ``seq`` and the two hashes, so editing any field, deleting a row (a gap in ``seq`` and a broken
link) or moving a row to another ``seq`` (swapping two rows' contents) each leave a row whose
stored hash no longer matches.

The canonical form is what a verifier can rebuild from the stored row alone: sorted-key compact
JSON, ASCII with \\u escapes, decimals as normalised strings, datetimes as ISO-8601 UTC with
microseconds, floats as Python's shortest round-trip repr. JSON columns enter the payload as
their exact stored text (itself canonical JSON), so nothing depends on how a driver parses JSON
back. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64


def decimal_text(value: Decimal) -> str:
    """``Decimal("1.50")``, ``Decimal("1.5000")`` and ``Decimal("1.5")`` all give ``"1.5"``."""
    if not value.is_finite():
        raise ValueError(f"cannot record a non-finite decimal: {value}")
    if value.is_zero():
        return "0"
    return format(value.normalize(), "f")


def datetime_text(value: datetime) -> str:
    """ISO-8601 in UTC with microseconds; a naive value is taken to be UTC already (SQLite
    returns stored UTC times without an offset)."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def json_default(value: Any) -> Any:
    """Encode the non-JSON values a record may hold, the same way everywhere (hashing and
    storage alike), so a value read back hashes as it did when written."""
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    raise TypeError(
        f"an audit record field holds a {type(value).__name__}, which cannot be recorded; "
        "use str, int, float, bool, None, Decimal, datetime, lists and dicts with str keys"
    )


_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=True,  # \uXXXX escapes: lone surrogates from client JSON cannot break encoding
    allow_nan=False,
    default=json_default,
)


def canonical_text(value: Any) -> str:
    """Sorted-key, compact JSON; raises TypeError/ValueError on unrecordable values."""
    return _ENCODER.encode(value)


def canonical_json(value: Any) -> bytes:
    """:func:`canonical_text` as bytes (ASCII: non-ASCII characters are escaped)."""
    return _ENCODER.encode(value).encode("ascii")


def canonical_payload(row: Mapping[str, Any], columns: tuple[str, ...]) -> bytes:
    """The bytes a row's hash covers: the named columns, canonically encoded."""
    return canonical_json({name: row[name] for name in columns})


def record_hash(prev_hash: str, seq: int, payload: bytes) -> str:
    """Hex SHA-256 binding this row's payload to its position and to the row before it."""
    digest = hashlib.sha256(f"{prev_hash}:{seq}:".encode("ascii"))
    digest.update(payload)
    return digest.hexdigest()
