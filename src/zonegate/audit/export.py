"""Reading the audit log out: JSON-ready records for ``audit tail`` and ``audit export``.

Records stream in bounded batches, so exporting a year of traffic takes constant memory. The
field names are the column names (the same as :class:`~zonegate.audit.record.AuditRecord`'s,
plus ``seq``, ``prev_hash`` and ``hash``), so an export is also enough to re-verify the chain
elsewhere.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from zonegate.audit.chain import datetime_text, decimal_text
from zonegate.store.audit_read import iter_chain_rows
from zonegate.store.audit_repo import AUDIT_CHAIN
from zonegate.store.db import Database

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(value: str, *, now: datetime | None = None) -> datetime:
    """``2026-01-01``, ``2026-01-01T12:00:00Z`` (naive means UTC) or an age: ``30m``, ``24h``,
    ``7d``, ``2w`` before ``now``. Raises ValueError saying what is accepted."""
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"invalid time {value!r}: use an ISO date (2026-01-01), a datetime "
            "(2026-01-01T12:00:00Z; no offset means UTC) or an age such as 30m, 24h, 7d, 2w"
        ) from None
    if _DATE.match(text) or parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_json_ready(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as plain JSON types: times as ISO-8601 UTC, money as a decimal string."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, datetime):
            out[name] = datetime_text(value)
        elif isinstance(value, Decimal):
            out[name] = decimal_text(value)
        else:
            out[name] = value
    return out


def iter_records(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    order: Literal["asc", "desc"] = "asc",
    after_seq: int = 0,
    batch_size: int = 500,
) -> Iterator[dict[str, Any]]:
    """Audit records in seq order (``"desc"``: newest first), filtered by ``started_at``
    (``since`` inclusive, ``until`` exclusive), at most ``limit`` of them."""
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    t = AUDIT_CHAIN.table
    where = []
    if since is not None:
        where.append(t.c.started_at >= since)
    if until is not None:
        where.append(t.c.started_at < until)
    rows = iter_chain_rows(
        db,
        AUDIT_CHAIN,
        after_seq=after_seq,
        batch_size=batch_size,
        where=where,
        descending=order == "desc",
        limit=limit,
    )
    for row in rows:
        yield to_json_ready(row)


def follow_records(
    db: Database,
    *,
    after_seq: int,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """New records as they are committed, forever (``audit tail --follow``)."""
    while True:
        found = False
        for record in iter_records(db, after_seq=after_seq):
            after_seq = int(record["seq"])
            found = True
            yield record
        if not found:
            sleep(poll_seconds)
