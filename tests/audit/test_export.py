"""Reading the log out: time parsing, filtering, ordering, JSON-ready values, following."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest

from tests.store.backends import T0, make_record
from zonegate.audit.export import follow_records, iter_records, parse_time
from zonegate.audit.record import AuditRecord
from zonegate.store.audit_repo import append_records
from zonegate.store.db import Database

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T12:30:00Z", datetime(2026, 1, 1, 12, 30, tzinfo=UTC)),
        ("2026-01-01T12:30:00+02:00", datetime(2026, 1, 1, 10, 30, tzinfo=UTC)),
        ("2026-01-01 12:30", datetime(2026, 1, 1, 12, 30, tzinfo=UTC)),
        ("90s", NOW - timedelta(seconds=90)),
        ("30m", NOW - timedelta(minutes=30)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
    ],
)
def test_parse_time_accepts_dates_datetimes_and_ages(value: str, expected: datetime) -> None:
    parsed = parse_time(value, now=NOW)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", ["yesterday", "", "5y", "-1d", "2026-13-01", "24 hours"])
def test_parse_time_rejects_anything_else_saying_what_works(value: str) -> None:
    with pytest.raises(ValueError, match=r"invalid time .*ISO date .* 24h, 7d"):
        parse_time(value, now=NOW)


def test_records_are_json_ready_with_stable_field_names(db: Database) -> None:
    record = make_record(0)
    append_records(db, [record])
    [exported] = list(iter_records(db))
    names = {f.name for f in fields(AuditRecord)} | {"seq", "prev_hash", "hash"}
    assert set(exported) == names
    json.dumps(exported)  # plain JSON types only
    assert exported["seq"] == 1
    assert exported["request_id"] == record.request_id
    assert exported["started_at"] == "2026-03-01T12:00:00.123456+00:00"
    assert exported["cost"] == "0.000123"
    assert exported["fallback_chain"] == ["gpt-4o-mini@vendor", "smollm2@local"]
    assert exported["params"] == {"temperature": 0.7, "max_tokens": 64, "tools": ["search"]}
    assert exported["findings"] == {"payment_card": 1, "email": 2}
    assert exported["stream"] is False
    assert len(exported["hash"]) == 64


def test_filtering_by_time_ordering_and_limits(db: Database) -> None:
    append_records(db, [make_record(i) for i in range(10)])  # started T0 + i seconds

    def seqs(**kwargs: object) -> list[int]:
        return [r["seq"] for r in iter_records(db, batch_size=3, **kwargs)]  # type: ignore[arg-type]

    assert seqs() == list(range(1, 11))
    assert seqs(since=T0 + timedelta(seconds=3)) == list(range(4, 11))
    assert seqs(until=T0 + timedelta(seconds=5)) == [1, 2, 3, 4, 5]
    assert seqs(since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=5)) == [4, 5]
    assert seqs(limit=4) == [1, 2, 3, 4]
    assert seqs(order="desc", limit=4) == [10, 9, 8, 7]
    assert seqs(order="desc") == list(range(10, 0, -1))
    assert seqs(since=T0 + timedelta(days=1)) == []
    with pytest.raises(ValueError, match="order must be"):
        seqs(order="sideways")


def test_follow_yields_new_records_as_they_arrive(db: Database) -> None:
    append_records(db, [make_record(0)])
    later = [make_record(1), make_record(2)]
    naps: list[float] = []

    class Done(Exception):
        pass

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 1:
            append_records(db, later)
        else:
            raise Done

    seen: list[str] = []

    def consume() -> None:
        for record in follow_records(db, after_seq=1, poll_seconds=0.25, sleep=sleep):
            seen.append(record["request_id"])

    with pytest.raises(Done):
        consume()
    assert seen == [r.request_id for r in later]
    assert naps == [0.25, 0.25]
