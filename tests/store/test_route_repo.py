"""Route state in the store, on SQLite and PostgreSQL: promotions, overrides and rollbacks, each
with its admin event in the same transaction, and a migration that matches the table."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from zonegate.errors import InvalidRequest
from zonegate.store import eval_tables, route_tables
from zonegate.store.db import Database
from zonegate.store.route_repo import ActiveRoute, Evidence, RouteRepository
from zonegate.store.tables import admin_events, metadata

VERDICT = {"passed": True, "upper_bound": 0.012, "table": {"n": 200}}


def admin_trail(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(admin_events).order_by(admin_events.c.seq)).mappings().all()
    return [dict(r) for r in rows]


def test_the_migration_creates_the_route_table_as_defined(db: Database) -> None:
    assert route_tables.route_changes.metadata is metadata
    assert eval_tables.eval_runs.metadata is metadata
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_a_promotion_becomes_the_current_state_with_its_admin_event(db: Database) -> None:
    repo = RouteRepository(db)
    assert repo.current("assistant") is None
    change = repo.promote(
        "assistant",
        "local-model",
        actor="ops",
        evidence=Evidence("run-cand", "run-inc", VERDICT),
    )
    assert change.action == "promote"
    assert change.promotion_id == change.change_id
    assert (change.version, change.previous_id) == (1, None)
    assert repo.current("assistant") == change
    assert repo.get(change.change_id) == change
    assert repo.active() == {"assistant": ActiveRoute("assistant", "local-model", change.change_id)}
    [event] = admin_trail(db)
    assert (event["action"], event["subject"], event["actor"]) == (
        "promote",
        "route:assistant",
        "ops",
    )
    assert event["before"] == {"model": None, "promotion_id": None, "order": "config"}
    assert event["after"]["model"] == "local-model"
    assert event["after"]["promotion_id"] == change.change_id
    assert event["after"]["run_ids"] == ["run-cand", "run-inc"]
    assert event["after"]["verdict"] == VERDICT


def test_rollback_walks_back_through_promotions_to_the_config_order(db: Database) -> None:
    repo = RouteRepository(db)
    first = repo.promote("r", "a", actor="ops", evidence=Evidence("c1", "i1", VERDICT))
    second = repo.promote("r", "b", actor="ops", evidence=Evidence("c2", "i2"), based_on=1)
    back = repo.rollback("r", actor="ops", reason="latency regression")
    assert (back.action, back.model, back.promotion_id) == ("rollback", "a", first.change_id)
    assert back.previous_id == second.change_id
    assert back.run_ids == ["c1", "i1"]  # the evidence the restored state stands on
    assert repo.active()["r"] == ActiveRoute("r", "a", first.change_id)
    to_config = repo.rollback("r", actor="ops")
    assert (to_config.model, to_config.promotion_id) == (None, None)
    assert repo.active() == {}
    with pytest.raises(InvalidRequest) as caught:
        repo.rollback("r", actor="ops")
    assert caught.value.code == "nothing_to_roll_back"
    assert [c.version for c in repo.history("r")] == [4, 3, 2, 1]
    trail = admin_trail(db)
    assert [e["action"] for e in trail] == ["promote", "promote", "rollback", "rollback"]
    rollback_event = trail[2]
    assert rollback_event["before"]["model"] == "b"
    assert rollback_event["after"]["rolled_back"] == {
        "promotion_id": second.change_id,
        "model": "b",
        "run_ids": ["c2", "i2"],
    }
    assert rollback_event["after"]["reason"] == "latency regression"


def test_an_override_needs_a_reason_and_is_recorded_as_one(db: Database) -> None:
    repo = RouteRepository(db)
    with pytest.raises(InvalidRequest) as caught:
        repo.promote("r", "a", actor="root", override=True, reason="  ")
    assert caught.value.code == "reason_required"
    assert admin_trail(db) == []
    change = repo.promote("r", "a", actor="root", override=True, reason="vendor outage")
    assert (change.action, change.override, change.reason) == (
        "promote.override",
        True,
        "vendor outage",
    )
    [event] = admin_trail(db)
    assert event["action"] == "promote.override"
    assert event["after"]["override"] is True


def test_a_change_judged_against_an_older_state_is_refused(db: Database) -> None:
    repo = RouteRepository(db)
    repo.promote("r", "a", actor="ops")
    with pytest.raises(InvalidRequest) as caught:
        repo.promote("r", "b", actor="ops", based_on=0)
    assert caught.value.code == "route_changed"
    with pytest.raises(InvalidRequest) as again:
        repo.promote("r", "a", actor="ops", based_on=1)
    assert again.value.code == "already_promoted"
    assert len(admin_trail(db)) == 1


def test_routes_are_independent_and_current_all_reads_the_newest_of_each(db: Database) -> None:
    repo = RouteRepository(db)
    repo.promote("one", "a", actor="ops")
    latest_one = repo.promote("one", "b", actor="ops", based_on=1)
    two = repo.promote("two", "c", actor="ops")
    current = repo.current_all()
    assert current == {"one": latest_one, "two": two}
