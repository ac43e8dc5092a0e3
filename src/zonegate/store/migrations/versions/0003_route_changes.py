"""Route state: promotions, overrides and rollbacks of each route's preferred model.

Revision ID: 0003
Revises: 0002
Create Date: 2026-02-15 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "route_changes",
        _text("change_id", nullable=False),
        _text("route", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _text("action", nullable=False),
        _text("model"),
        _text("promotion_id"),
        _text("previous_id"),
        _text("candidate_run_id"),
        _text("incumbent_run_id"),
        sa.Column("verdict", sa.JSON(), nullable=True),
        sa.Column("override", sa.Boolean(), nullable=False),
        _text("reason"),
        _text("actor", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("change_id", name="pk_route_changes"),
        sa.UniqueConstraint("route", "version", name="uq_route_changes_route"),
    )
    op.create_index("ix_route_changes_promotion_id", "route_changes", ["promotion_id"])


def downgrade() -> None:
    op.drop_index("ix_route_changes_promotion_id", table_name="route_changes")
    op.drop_table("route_changes")
