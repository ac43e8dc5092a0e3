"""The database handle: one SQLAlchemy engine (sync, Core), SQLite or PostgreSQL.

SQLite is the embedded default: WAL (readers never block the writer), foreign keys on, a busy
timeout so concurrent processes wait instead of failing, and transactions whose BEGIN we emit
ourselves, so a writer can ask for ``BEGIN IMMEDIATE`` and hold the write lock from its first
read. PostgreSQL goes through psycopg 3; writers serialise on a transaction-scoped advisory
lock. Either way :meth:`Database.write_transaction` gives a transaction that no other writer
(in this process or another) can interleave with, which is what the audit chain needs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from zonegate.audit.chain import json_default
from zonegate.errors import ServiceUnavailable

# Key of the PostgreSQL advisory lock that serialises chain writers (any constant works; this is
# "zonegate" in ASCII, truncated to fit a signed 64-bit integer).
WRITE_LOCK_KEY = 0x7A6F6E6567617465 & 0x7FFF_FFFF_FFFF_FFFF
_MIGRATE_ATTEMPTS = 5

SQLITE_SYNCHRONOUS = ("off", "normal", "full", "extra")


def _json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=json_default, allow_nan=False)


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` / ``postgres://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """A SQLAlchemy engine configured for zonegate's state, plus migrations and readiness."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "normal",
        busy_timeout_ms: int = 10_000,
    ) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(
                f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
                "use sqlite:///PATH or postgresql://USER@HOST/DB"
            )
        if sqlite_synchronous.lower() not in SQLITE_SYNCHRONOUS:
            raise ValueError(
                f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}, "
                f"not {sqlite_synchronous!r}"
            )
        self._synchronous = sqlite_synchronous.upper()
        self._busy_timeout_ms = busy_timeout_ms
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(parsed.database)
        else:
            self.engine = create_engine(
                self.url, json_serializer=_json_dumps, pool_size=10, max_overflow=20
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def row_errors(self) -> tuple[type[Exception], ...]:
        """Errors caused by one row's data (a duplicate key, a value the column refuses) rather
        than by the database being unavailable; both SQLAlchemy's and the driver's classes."""
        dbapi = self.engine.dialect.loaded_dbapi
        return (IntegrityError, DataError, dbapi.IntegrityError, dbapi.DataError)

    def _sqlite_engine(self, path: str | None) -> Engine:
        memory = not path or path == ":memory:" or "mode=memory" in self.url
        if memory:
            # One shared connection, or each thread would see its own empty database. Only for
            # single-threaded scripts and tests: the audit writer's thread shares that connection.
            engine = create_engine(
                self.url,
                json_serializer=_json_dumps,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
        else:
            assert path is not None
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(self.url, json_serializer=_json_dumps)

        synchronous = self._synchronous
        busy_timeout = int(self._busy_timeout_ms)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module; "begin" below emits BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                # First: switching a new database to WAL takes a lock, and without a busy
                # timeout a process starting beside another fails at once ("database is locked").
                cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
                if not memory:
                    cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA synchronous={synchronous}")
                cursor.execute("PRAGMA foreign_keys=ON")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = "IMMEDIATE" if conn.get_execution_options().get("zg_write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """A transaction holding the database-wide write lock; commits on normal exit.

        SQLite: ``BEGIN IMMEDIATE``. PostgreSQL: ``pg_advisory_xact_lock``, released at commit or
        rollback. Appends to the hash chains must run inside one of these.
        """
        with self.engine.connect() as conn:
            conn.execution_options(zg_write=True)
            with conn.begin():
                if not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
                yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic ``upgrade head``); safe to repeat,
        and safe when several processes start at once (the write lock serialises them)."""
        from alembic import command

        with as_file(files("zonegate.store") / "migrations") as location:
            config = _alembic_config(location)
            for attempt in range(_MIGRATE_ATTEMPTS):
                try:
                    with self.write_transaction() as conn:
                        config.attributes["connection"] = conn
                        command.upgrade(config, "head")
                    return
                except OperationalError as exc:
                    # SQLite answers "locked" without waiting when processes open a new file
                    # at the same moment (the switch to WAL); each try is a whole transaction.
                    locked = self.is_sqlite and "database is locked" in str(exc)
                    if not locked or attempt == _MIGRATE_ATTEMPTS - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))

    def ping(self) -> None:
        """Readiness: raise :class:`ServiceUnavailable` unless a trivial query succeeds."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                conn.rollback()
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"the database is unreachable: {describe_error(exc)}; check that it is running and "
                "that the database URL is right",
                code="database_unavailable",
            ) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"


def _alembic_config(location: Path) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(location))
    return config


def describe_error(exc: BaseException) -> str:
    """The driver's message in one line, without SQLAlchemy's boilerplate."""
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__
