"""SQLAlchemy Core tables: the audit chain, the admin trail, chain heads and API keys.

Core, not ORM: the audit writer inserts thousands of rows a second and needs no identity map.
Migration ``0001_initial`` creates exactly these tables; a test checks that Alembic's
autogenerate finds no difference between the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.types import TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

MONEY_SCALE = 10
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


def quantize_money(value: Decimal) -> Decimal:
    """Round to the stored scale (10 places), so what is hashed is exactly what is stored."""
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite keeps no offset, so values are converted to UTC on the way in and marked UTC on the
    way out. Naive datetimes are refused: a time without a zone is a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware (UTC) datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC(24, 10) on PostgreSQL, text on SQLite (which has no decimal
    type and would round through a float)."""

    impl = Numeric(24, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(24, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = quantize_money(Decimal(value))
        return format(exact, "f") if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


def _seq() -> Column[int]:
    # INTEGER on SQLite makes seq the rowid (fast, compact); BIGINT elsewhere.
    return Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,  # assigned by the writer under the chain lock, never by the database
    )


def _json() -> JSON:
    return JSON(none_as_null=True)


audit_records = Table(
    "audit_records",
    metadata,
    _seq(),
    Column("request_id", Text, nullable=False, unique=True),
    Column("trace_id", Text),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("instance_id", Text, nullable=False),
    Column("config_hash", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("decision", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("principal_id", Text),
    Column("team", Text),
    Column("purpose", Text),
    Column("route", Text),
    Column("requested_model", Text),
    Column("model_id", Text),
    Column("served_model", Text),
    Column("zone", Text),
    Column("fallback_chain", _json(), nullable=False),
    Column("declared_class", Text),
    Column("effective_class", Text),
    Column("findings", _json(), nullable=False),
    Column("reason_code", Text),
    Column("promotion_id", Text),
    Column("params", _json(), nullable=False),
    Column("content_mode", Text, nullable=False),
    Column("content", _json()),
    Column("retain_until", UtcDateTime),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cost", Money),
    Column("latency_ms", Float),
    Column("ttft_ms", Float),
    Column("error_class", Text),
    Column("error_message", Text),
    Column("guard_verdicts", _json(), nullable=False),
    Column("stream", Boolean, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
)

admin_events = Table(
    "admin_events",
    metadata,
    _seq(),
    Column("event_id", Text, nullable=False, unique=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("before", _json()),
    Column("after", _json()),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
)

# The last (seq, hash) of each chain, updated in the same transaction as every append. A chain
# alone cannot reveal that its newest rows were deleted; comparing against this checkpoint can.
chain_heads = Table(
    "chain_heads",
    metadata,
    Column("chain", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", Text, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("secret_hash", Text, nullable=False),
    Column("last4", Text, nullable=False),
    Column("principal", Text, nullable=False),
    Column("team", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)
Index("ix_api_keys_principal", api_keys.c.principal)

# Columns of each chained table that its hash covers (everything but seq and the hashes).
AUDIT_PAYLOAD_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in audit_records.columns if c.name not in ("seq", "prev_hash", "hash")
)
ADMIN_PAYLOAD_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in admin_events.columns if c.name not in ("seq", "prev_hash", "hash")
)
