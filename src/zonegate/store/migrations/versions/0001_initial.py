"""Initial schema: audit chain, admin trail, chain heads, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seq() -> sa.Column[int]:
    return sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False
    )


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "audit_records",
        _seq(),
        _text("request_id", nullable=False),
        _text("trace_id"),
        _when("started_at"),
        _when("ended_at"),
        _text("instance_id", nullable=False),
        _text("config_hash", nullable=False),
        _text("endpoint", nullable=False),
        _text("decision", nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        _text("principal_id"),
        _text("team"),
        _text("purpose"),
        _text("route"),
        _text("requested_model"),
        _text("model_id"),
        _text("served_model"),
        _text("zone"),
        sa.Column("fallback_chain", sa.JSON(), nullable=False),
        _text("declared_class"),
        _text("effective_class"),
        sa.Column("findings", sa.JSON(), nullable=False),
        _text("reason_code"),
        _text("promotion_id"),
        sa.Column("params", sa.JSON(), nullable=False),
        _text("content_mode", nullable=False),
        sa.Column("content", sa.JSON(), nullable=True),
        _when("retain_until", nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Numeric(24, 10).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        _text("error_class"),
        _text("error_message"),
        sa.Column("guard_verdicts", sa.JSON(), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        _text("prev_hash", nullable=False),
        _text("hash", nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_records"),
        sa.UniqueConstraint("request_id", name="uq_audit_records_request_id"),
    )
    op.create_index("ix_audit_records_started_at", "audit_records", ["started_at"])

    op.create_table(
        "admin_events",
        _seq(),
        _text("event_id", nullable=False),
        _when("at"),
        _text("actor", nullable=False),
        _text("action", nullable=False),
        _text("subject", nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        _text("prev_hash", nullable=False),
        _text("hash", nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_admin_events"),
        sa.UniqueConstraint("event_id", name="uq_admin_events_event_id"),
    )
    op.create_index("ix_admin_events_at", "admin_events", ["at"])

    op.create_table(
        "chain_heads",
        _text("chain", nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        _text("hash", nullable=False),
        sa.PrimaryKeyConstraint("chain", name="pk_chain_heads"),
    )

    op.create_table(
        "api_keys",
        _text("key_id", nullable=False),
        _text("secret_hash", nullable=False),
        _text("last4", nullable=False),
        _text("principal", nullable=False),
        _text("team", nullable=False),
        _text("role", nullable=False),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
    )
    op.create_index("ix_api_keys_principal", "api_keys", ["principal"])


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("chain_heads")
    op.drop_index("ix_admin_events_at", table_name="admin_events")
    op.drop_table("admin_events")
    op.drop_index("ix_audit_records_started_at", table_name="audit_records")
    op.drop_table("audit_records")
