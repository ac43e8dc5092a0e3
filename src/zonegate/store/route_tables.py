"""The route-state table: every promotion, override and rollback of a route, never updated.

A route's current state is its row with the highest ``version``; the unique (route, version)
pair makes two writers that both read the same state unable to both record a successor.
Migration ``0003_route_changes`` creates exactly this table.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, Table, Text, UniqueConstraint

from zonegate.store.tables import UtcDateTime, metadata

route_changes = Table(
    "route_changes",
    metadata,
    Column("change_id", Text, primary_key=True),  # UUIDv7
    Column("route", Text, nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per route
    Column("action", Text, nullable=False),  # promote | promote.override | rollback
    Column("model", Text),  # first on the route after this change; NULL: the config's order
    Column("promotion_id", Text),  # the promotion in effect after this change
    Column("previous_id", Text),  # the change this one replaced
    Column("candidate_run_id", Text),
    Column("incumbent_run_id", Text),
    Column("verdict", JSON(none_as_null=True)),
    Column("override", Boolean, nullable=False),
    Column("reason", Text),
    Column("actor", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("route", "version"),
)
Index("ix_route_changes_promotion_id", route_changes.c.promotion_id)
