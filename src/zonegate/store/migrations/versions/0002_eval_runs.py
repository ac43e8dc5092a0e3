"""Evaluation runs: runs, per-attempt results, and the output cache.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _json(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(), nullable=nullable)


def _int(name: str, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _bool(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        _text("run_id", nullable=False),
        _int("schema_version", nullable=False),
        _text("suite_name", nullable=False),
        _text("suite_version", nullable=False),
        _json("suite"),
        _text("requested_model", nullable=False),
        _json("model_identity"),
        _json("served_models"),
        _text("config_hash", nullable=False),
        _text("config_source", nullable=False),
        _json("parameters"),
        _int("repeats", nullable=False),
        _bool("use_cache"),
        _json("packages"),
        _text("principal", nullable=False),
        _text("team", nullable=False),
        _text("judge_model"),
        _text("status", nullable=False),
        _when("created_at"),
        _when("finished_at", nullable=True),
        _json("summary", nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_eval_runs"),
    )
    op.create_index("ix_eval_runs_suite_name", "eval_runs", ["suite_name"])

    op.create_table(
        "eval_results",
        _text("run_id", nullable=False),
        _text("item_id", nullable=False),
        _int("attempt", nullable=False),
        _bool("passed"),
        _text("output"),
        _json("scores"),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        _int("prompt_tokens"),
        _int("completion_tokens"),
        sa.Column("cost", sa.Numeric(24, 10).with_variant(sa.Text(), "sqlite"), nullable=True),
        _text("currency"),
        _text("served_model"),
        _text("model_id"),
        _text("system_fingerprint"),
        _text("request_id"),
        _text("error_code"),
        _text("error_message"),
        _bool("cached"),
        _int("tries", nullable=False),
        _when("recorded_at"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["eval_runs.run_id"],
            name="fk_eval_results_run_id_eval_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "item_id", "attempt", name="pk_eval_results"),
    )

    op.create_table(
        "eval_cache",
        _text("entry_id", nullable=False),
        _text("cache_key", nullable=False),
        _text("model_id"),
        _text("served_model"),
        _text("system_fingerprint"),
        _text("output", nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        _int("prompt_tokens"),
        _int("completion_tokens"),
        _text("request_id"),
        _when("created_at"),
        sa.PrimaryKeyConstraint("entry_id", name="pk_eval_cache"),
    )
    op.create_index("ix_eval_cache_cache_key", "eval_cache", ["cache_key"])


def downgrade() -> None:
    op.drop_index("ix_eval_cache_cache_key", table_name="eval_cache")
    op.drop_table("eval_cache")
    op.drop_table("eval_results")
    op.drop_index("ix_eval_runs_suite_name", table_name="eval_runs")
    op.drop_table("eval_runs")
