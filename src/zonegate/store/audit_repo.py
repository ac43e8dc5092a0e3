"""Appending to the two hash chains (request records and admin events).

Appends run inside :meth:`Database.write_transaction`, which holds the database-wide write lock:
read the last row's ``(seq, hash)``, number and hash the new rows, insert them with one
executemany, move the chain head. Nothing is cached between transactions, so several gateway
processes can share one database and still produce one valid chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Connection, Table

from zonegate.audit.chain import GENESIS_HASH, canonical_json, canonical_text, record_hash
from zonegate.audit.record import AdminEvent, AuditRecord
from zonegate.store.db import WRITE_LOCK_KEY, Database
from zonegate.store.tables import (
    ADMIN_PAYLOAD_COLUMNS,
    AUDIT_PAYLOAD_COLUMNS,
    Money,
    UtcDateTime,
    admin_events,
    audit_records,
    quantize_money,
)


@dataclass(frozen=True, slots=True)
class ChainSQL:
    """Hand-built statements for the append hot path, run on the driver's cursor: SQLAlchemy's
    per-statement overhead would otherwise dominate a small commit."""

    last: str
    insert: str
    head: str


@dataclass(frozen=True, slots=True)
class Chain:
    """One hash-chained table: its name in ``chain_heads``, the table and its id column."""

    name: str
    table: Table
    id_column: str
    payload_columns: tuple[str, ...]
    # (position in payload_columns, kind) of every column SQLite's driver cannot take as is.
    conversions: tuple[tuple[int, str], ...]
    kinds: Mapping[str, str]
    sql: Mapping[str, ChainSQL]


def _kind(column: Column[Any]) -> str:
    if isinstance(column.type, UtcDateTime):
        return "datetime"
    if isinstance(column.type, Money):
        return "money"
    if isinstance(column.type, JSON):
        return "json"
    if isinstance(column.type, Boolean):
        return "bool"
    return "plain"


def _chain(name: str, table: Table, id_column: str, payload: tuple[str, ...]) -> Chain:
    conversions = tuple(
        (i, _kind(table.c[col]))
        for i, col in enumerate(payload)
        if _kind(table.c[col]) in ("datetime", "money", "bool")
    )
    columns = [*payload, "seq", "prev_hash", "hash"]
    names = ", ".join(columns)
    kinds = {col: _kind(table.c[col]) for col in payload}
    sqlite_values = ", ".join("?" * len(columns))
    pg_values = ", ".join("%s::json" if kinds.get(c) == "json" else "%s" for c in columns)
    head_upsert = (
        "INSERT INTO chain_heads (chain, seq, hash) VALUES ({p}, {p}, {p}) "
        "ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
    )
    # Identifiers below come from our own Table definitions, never from input.
    last = f"SELECT seq, hash FROM {table.name} ORDER BY seq DESC LIMIT 1"  # noqa: S608
    sql = {
        "sqlite": ChainSQL(
            last=last,
            insert=f"INSERT INTO {table.name} ({names}) VALUES ({sqlite_values})",  # noqa: S608
            head=head_upsert.format(p="?"),
        ),
        "postgresql": ChainSQL(
            last=last,
            insert=f"INSERT INTO {table.name} ({names}) VALUES ({pg_values})",  # noqa: S608
            head=head_upsert.format(p="%s"),
        ),
    }
    return Chain(
        name, table, id_column, payload, conversions, MappingProxyType(kinds), MappingProxyType(sql)
    )


AUDIT_CHAIN = _chain("audit", audit_records, "request_id", AUDIT_PAYLOAD_COLUMNS)
ADMIN_CHAIN = _chain("admin", admin_events, "event_id", ADMIN_PAYLOAD_COLUMNS)
CHAINS: Mapping[str, Chain] = MappingProxyType({c.name: c for c in (AUDIT_CHAIN, ADMIN_CHAIN)})


@dataclass(frozen=True, slots=True)
class PreparedRow:
    """A row ready for the driver (payload columns, in order) and the bytes its hash covers."""

    chain: Chain
    dialect: str
    params: tuple[Any, ...]
    payload: bytes


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} is a naive datetime; audit times must be timezone-aware UTC")
    return value.astimezone(UTC)


def _json_text(value: Any) -> str | None:
    """A JSON column's value: canonical text, stored and hashed byte for byte as is."""
    return None if value is None else canonical_text(value)


def _to_driver(chain: Chain, dialect: str, values: dict[str, Any]) -> tuple[Any, ...]:
    """Column values as the driver takes them (what SQLAlchemy's types would have produced).

    JSON columns are text already; psycopg takes datetime, Decimal and bool natively; SQLite
    gets SQLAlchemy's storage formats.
    """
    params = [values[c] for c in chain.payload_columns]
    if dialect == "sqlite":
        for i, kind in chain.conversions:
            value = params[i]
            if value is None:
                continue
            if kind == "datetime":
                params[i] = value.replace(tzinfo=None).isoformat(" ", "microseconds")
            elif kind == "money":
                params[i] = format(value, "f")
            elif kind == "bool":
                params[i] = int(value)
    return tuple(params)


def _prepared(chain: Chain, dialect: str, values: dict[str, Any]) -> PreparedRow:
    if dialect not in chain.sql:
        raise ValueError(f"unsupported database dialect {dialect!r}")
    return PreparedRow(chain, dialect, _to_driver(chain, dialect, values), canonical_json(values))


def prepare_record(record: AuditRecord, dialect: str) -> PreparedRow:
    """Normalise a record into driver values and its canonical payload.

    Raises TypeError/ValueError/ArithmeticError if a field cannot be recorded faithfully
    (naive datetime, NaN, an object JSON cannot hold).
    """
    r = record
    values: dict[str, Any] = {
        "request_id": r.request_id,
        "trace_id": r.trace_id,
        "started_at": _utc(r.started_at, "started_at"),
        "ended_at": _utc(r.ended_at, "ended_at"),
        "instance_id": r.instance_id,
        "config_hash": r.config_hash,
        "endpoint": r.endpoint,
        "decision": r.decision,
        "status": int(r.status),
        "principal_id": r.principal_id,
        "team": r.team,
        "purpose": r.purpose,
        "route": r.route,
        "requested_model": r.requested_model,
        "model_id": r.model_id,
        "served_model": r.served_model,
        "zone": r.zone,
        "fallback_chain": _json_text([str(m) for m in r.fallback_chain]),
        "declared_class": r.declared_class,
        "effective_class": r.effective_class,
        "findings": _json_text({str(k): int(v) for k, v in r.findings.items()}),
        "reason_code": r.reason_code,
        "promotion_id": r.promotion_id,
        "params": _json_text(r.params),
        "content_mode": r.content_mode,
        "content": _json_text(r.content),
        "retain_until": None if r.retain_until is None else _utc(r.retain_until, "retain_until"),
        "prompt_tokens": None if r.prompt_tokens is None else int(r.prompt_tokens),
        "completion_tokens": None if r.completion_tokens is None else int(r.completion_tokens),
        "cost": None if r.cost is None else quantize_money(Decimal(r.cost)),
        "latency_ms": None if r.latency_ms is None else float(r.latency_ms),
        "ttft_ms": None if r.ttft_ms is None else float(r.ttft_ms),
        "error_class": r.error_class,
        "error_message": r.error_message,
        "guard_verdicts": _json_text(r.guard_verdicts),
        "stream": bool(r.stream),
    }
    return _prepared(AUDIT_CHAIN, dialect, values)


def prepare_event(event: AdminEvent, dialect: str) -> PreparedRow:
    """Normalise an admin event into driver values and its canonical payload."""
    values: dict[str, Any] = {
        "event_id": event.event_id,
        "at": _utc(event.at, "at"),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "before": _json_text(event.before),
        "after": _json_text(event.after),
    }
    return _prepared(ADMIN_CHAIN, dialect, values)


def append_prepared(conn: Connection, rows: Sequence[PreparedRow]) -> list[int]:
    """Chain and insert rows; call inside :meth:`Database.write_transaction`. Returns each
    row's seq, in the order given."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        return _append(cursor, conn.dialect.name, rows)
    finally:
        cursor.close()


def _append(cursor: Any, dialect: str, rows: Sequence[PreparedRow]) -> list[int]:
    """The append itself, on a driver cursor whose transaction holds the write lock."""
    seqs = [0] * len(rows)
    for chain in (AUDIT_CHAIN, ADMIN_CHAIN):
        indexes = [i for i, r in enumerate(rows) if r.chain is chain]
        if not indexes:
            continue
        sql = chain.sql[dialect]
        cursor.execute(sql.last)
        last = cursor.fetchone()
        seq, prev = (0, GENESIS_HASH) if last is None else (int(last[0]), str(last[1]))
        params: list[tuple[Any, ...]] = []
        for i in indexes:
            row = rows[i]
            if row.dialect != dialect:
                raise ValueError(f"row prepared for {row.dialect}, database is {dialect}")
            seq += 1
            digest = record_hash(prev, seq, row.payload)
            params.append((*row.params, seq, prev, digest))
            seqs[i] = seq
            prev = digest
        cursor.executemany(sql.insert, params)
        cursor.execute(sql.head, (chain.name, seq, prev))
    return seqs


class ChainAppender:
    """Appends batches on one pooled driver connection held across batches.

    For the audit writer's single thread: it skips SQLAlchemy's per-transaction overhead (about
    half the cost of a one-record commit on SQLite). Same lock, same statements as
    :func:`append_prepared`. After a failure the connection is rolled back, or dropped if even
    that fails, and the next batch starts afresh. Not thread-safe.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._raw: Any = None

    def append(self, rows: Sequence[PreparedRow]) -> list[int]:
        if self._raw is None:
            self._raw = self._db.engine.raw_connection()
        driver = self._raw.driver_connection
        sqlite = self._db.is_sqlite
        cursor = driver.cursor()
        try:
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            else:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            seqs = _append(cursor, self._db.dialect, rows)
            if sqlite:
                cursor.execute("COMMIT")
            else:
                driver.commit()
            return seqs
        except BaseException:
            self._abort(cursor)
            raise
        finally:
            cursor.close()

    def _abort(self, cursor: Any) -> None:
        try:
            if self._db.is_sqlite:
                if self._raw.driver_connection.in_transaction:
                    cursor.execute("ROLLBACK")
            else:
                self._raw.driver_connection.rollback()
        except Exception:  # the connection is unusable: drop it, the next batch reconnects
            raw, self._raw = self._raw, None
            raw.invalidate()

    def close(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            raw.close()


def append_records(db: Database, records: Iterable[AuditRecord]) -> list[int]:
    """Commit records to the audit chain in one transaction; returns their seqs."""
    prepared = [prepare_record(r, db.dialect) for r in records]
    if not prepared:
        return []
    with db.write_transaction() as conn:
        return append_prepared(conn, prepared)


def append_admin_events(conn: Connection, events: Iterable[AdminEvent]) -> list[int]:
    """Append admin events inside an open write transaction (so a change and its audit entry
    commit together)."""
    prepared = [prepare_event(e, conn.dialect.name) for e in events]
    return append_prepared(conn, prepared) if prepared else []


def append_admin_event(db: Database, event: AdminEvent) -> int:
    """Commit one admin event in its own transaction; returns its seq."""
    with db.write_transaction() as conn:
        return append_admin_events(conn, [event])[0]
