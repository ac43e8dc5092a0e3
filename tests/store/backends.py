"""Database fixtures for store and audit tests: every core test runs on SQLite and on the real
PostgreSQL server (127.0.0.1:5432, database ``test``), each PostgreSQL test in its own schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from zonegate.audit.record import AdminEvent, AuditRecord
from zonegate.ids import new_id
from zonegate.store.db import Database

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = "test"


def _pg_user() -> str:
    errors = []
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname=PG_DATABASE, connect_timeout=5
            ):
                return user
        except psycopg.Error as exc:
            errors.append(f"{user}: {exc}")
    raise RuntimeError(
        f"PostgreSQL on {PG_HOST}:{PG_PORT}/{PG_DATABASE} is not reachable "
        f"({'; '.join(errors)}); start it or deselect with -m 'not postgres'"
    )


@pytest.fixture(scope="session")
def pg_user() -> str:
    return _pg_user()


def _pg_admin(user: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=user, dbname=PG_DATABASE, autocommit=True
    )


@pytest.fixture
def pg_schema_url(pg_user: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards."""
    schema = f"zg_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin(pg_user) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            f"postgresql://{pg_user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        with _pg_admin(pg_user) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'zonegate.db'}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()


def execute(db: Database, statement: str, **params: Any) -> None:
    """Run plain SQL in its own transaction (what a tamperer with database access would do)."""
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def scalar(db: Database, statement: str, **params: Any) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(text(statement), params).scalar()


T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def make_record(n: int = 0, **overrides: Any) -> AuditRecord:
    """A realistic record; ``n`` varies times and values so rows differ."""
    started = T0 + timedelta(seconds=n)
    fields: dict[str, Any] = {
        "request_id": new_id(),
        "started_at": started,
        "ended_at": started + timedelta(milliseconds=250 + n),
        "instance_id": "host-a:4242",
        "config_hash": "c" * 64,
        "endpoint": "/v1/chat/completions",
        "decision": "allow",
        "status": 200,
        "trace_id": f"trace-{n}",
        "principal_id": "01a2104387387137a8bb92f532c67362",
        "team": "default",
        "purpose": "ticket-summary",
        "route": "assistant",
        "requested_model": "assistant",
        "model_id": "smollm2@local",
        "served_model": "SmolLM2-135M-Instruct",
        "zone": "local",
        "fallback_chain": ("gpt-4o-mini@vendor", "smollm2@local"),
        "declared_class": "internal",
        "effective_class": "restricted",
        "findings": {"payment_card": 1, "email": 2},
        "reason_code": None,
        "params": {"temperature": 0.7, "max_tokens": 64 + n, "tools": ["search"]},
        "content_mode": "hash",
        "content": {"mode": "hash", "request_sha256": "a" * 64, "response_sha256": "b" * 64},
        "retain_until": started + timedelta(days=180),
        "prompt_tokens": 20 + n,
        "completion_tokens": 30,
        "cost": Decimal("0.000123") * (n + 1),
        "latency_ms": 250.5 + n,
        "ttft_ms": 12.25,
        "guard_verdicts": {"injection": {"verdict": "pass", "score": 0.01}},
        "stream": n % 2 == 1,
    }
    fields.update(overrides)
    return AuditRecord(**fields)


def make_event(n: int = 0, **overrides: Any) -> AdminEvent:
    fields: dict[str, Any] = {
        "event_id": new_id(),
        "at": T0 + timedelta(seconds=n),
        "actor": "cli",
        "action": "key.create",
        "subject": f"api_key:{n}",
        "before": None,
        "after": {"principal": f"p{n}", "team": "default", "role": "user"},
    }
    fields.update(overrides)
    return AdminEvent(**fields)


class WriteLockHolder:
    """Holds the database-wide write lock from a second handle (another "process"), so a
    writer's next commit blocks until :meth:`release`."""

    def __init__(self, url: str) -> None:
        self._db = Database(url, busy_timeout_ms=60_000)
        self._cm = self._db.write_transaction()
        self._cm.__enter__()

    def release(self) -> None:
        try:
            self._cm.__exit__(None, None, None)
        finally:
            self._db.dispose()


async def wait_until(condition: Any, *, within: float = 30.0) -> None:
    """Yield to the event loop until ``condition()`` holds (bounded; not a timing assertion)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.002)
