"""Migration retries SQLite's instant "database is locked" (several processes opening a new file
at the same moment), and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from zonegate.store.db import Database


def flaky(db: Database, message: str, failures: int) -> list[int]:
    """Make ``db.write_transaction`` raise ``message`` the first ``failures`` times."""
    real = db.write_transaction
    calls: list[int] = []

    @contextmanager
    def write_transaction() -> Iterator[Connection]:
        calls.append(1)
        if len(calls) <= failures:
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception(message))
        with real() as conn:
            yield conn

    db.write_transaction = write_transaction  # type: ignore[method-assign]
    return calls


def test_a_locked_new_database_is_migrated_on_a_later_try(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'z.db'}")
    calls = flaky(db, "database is locked", failures=2)
    db.migrate()
    assert len(calls) == 3
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    db.dispose()


def test_other_errors_and_endless_locks_are_raised(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'z.db'}")
    flaky(db, "disk I/O error", failures=1)
    with pytest.raises(OperationalError, match="disk I/O error"):
        db.migrate()
    stuck = Database(f"sqlite:///{tmp_path / 'y.db'}")
    calls = flaky(stuck, "database is locked", failures=99)
    with pytest.raises(OperationalError, match="locked"):
        stuck.migrate()
    assert len(calls) == 5
    db.dispose()
    stuck.dispose()
