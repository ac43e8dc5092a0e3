"""The database handle: SQLite settings, URL handling, migrations, readiness."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from tests.store.backends import scalar
from zonegate.errors import ServiceUnavailable
from zonegate.store import eval_tables, route_tables  # noqa: F401 - register their tables
from zonegate.store.db import Database, normalize_url
from zonegate.store.tables import metadata


def test_sqlite_connections_use_wal_and_the_requested_durability(tmp_path: Path) -> None:
    for mode, expected in (("normal", 1), ("full", 2)):
        db = Database(f"sqlite:///{tmp_path / mode / 'z.db'}", sqlite_synchronous=mode)
        try:
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        finally:
            db.dispose()


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "zonegate.db"
    db = Database(f"sqlite:///{path}")
    try:
        db.migrate()
    finally:
        db.dispose()
    assert path.is_file()


def test_postgres_urls_select_psycopg() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sqlite_synchronous must be one of"):
        Database(f"sqlite:///{tmp_path / 'z.db'}", sqlite_synchronous="sometimes")
    with pytest.raises(ValueError, match="unsupported database URL"):
        Database("mysql://u@h/db")


def test_migrate_is_idempotent_and_matches_the_tables(db: Database) -> None:
    db.migrate()  # the fixture migrated once already
    assert scalar(db, "SELECT version_num FROM alembic_version") == "0003"
    assert scalar(db, "SELECT count(*) FROM alembic_version") == 1
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        names = set(inspect(conn).get_table_names())
    assert {"audit_records", "admin_events", "chain_heads", "api_keys"} <= names


def test_autogenerate_comparison_does_notice_a_difference(db: Database) -> None:
    # Guards the test above: the comparison must be able to fail.
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE api_keys ADD COLUMN extra INTEGER"))
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert [(d[0], d[2], d[3].name) for d in diff] == [("remove_column", "api_keys", "extra")]


def test_concurrent_first_starts_migrate_once(db_url: str) -> None:
    databases = [Database(db_url) for _ in range(4)]
    errors: list[BaseException] = []

    def run(d: Database) -> None:
        try:
            d.migrate()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert scalar(databases[0], "SELECT version_num FROM alembic_version") == "0003"
    finally:
        for d in databases:
            d.dispose()


def test_ping_succeeds_on_a_live_database(db: Database) -> None:
    db.ping()


def test_ping_reports_an_unreachable_database() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")
    try:
        with pytest.raises(ServiceUnavailable) as info:
            db.ping()
    finally:
        db.dispose()
    assert info.value.code == "database_unavailable"
    assert info.value.status == 503
    assert "unreachable" in info.value.message


def test_a_write_transaction_holds_the_sqlite_write_lock_from_its_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'z.db'}"
    holder, other = Database(url), Database(url, busy_timeout_ms=50)
    try:
        holder.migrate()
        with holder.write_transaction():
            # No statement has run yet in the holder's transaction: BEGIN IMMEDIATE took the lock.
            with (
                pytest.raises(OperationalError, match="database is locked"),
                other.write_transaction(),
            ):
                pass
            with other.engine.connect() as conn:  # readers are not blocked (WAL)
                assert conn.execute(text("SELECT count(*) FROM api_keys")).scalar() == 0
        with other.write_transaction() as conn:  # released at commit
            conn.execute(text("SELECT 1"))
    finally:
        holder.dispose()
        other.dispose()
