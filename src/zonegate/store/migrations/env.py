"""Alembic environment: migrates the connection that ``Database.migrate()`` hands over.

``Database.migrate()`` opens the connection inside its write transaction (so concurrent starts
serialise) and passes it in ``config.attributes["connection"]``. For ad-hoc use (e.g.
``alembic revision --autogenerate`` from a script) a ``sqlalchemy.url`` main option works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from zonegate.store import eval_tables, route_tables  # noqa: F401 - register their tables
from zonegate.store.db import Database
from zonegate.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database to migrate: call Database(url).migrate(), or set the "
            "'sqlalchemy.url' option on the Alembic config"
        )
    db = Database(url)
    try:
        with db.write_transaction() as conn:
            _run(conn)
    finally:
        db.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
