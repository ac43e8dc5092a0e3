"""Evaluation runs in the store: runs, per-attempt results and the output cache, on SQLite and
PostgreSQL, and a migration that matches the table definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.store.backends import scalar
from zonegate.errors import InvalidRequest, NotFound
from zonegate.ids import new_id
from zonegate.store import eval_tables, route_tables  # noqa: F401 - register their tables
from zonegate.store.db import Database
from zonegate.store.eval_repo import AttemptResult, CachedOutput, EvalRepository, RunInfo
from zonegate.store.tables import metadata

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def make_run(suite: str = "arith", **overrides: Any) -> RunInfo:
    fields: dict[str, Any] = {
        "run_id": new_id(),
        "schema_version": 1,
        "suite_name": suite,
        "suite_version": "v" * 64,
        "suite": {"name": suite, "items": [{"id": "a", "messages": [{"role": "user"}]}]},
        "requested_model": "assistant",
        "model_identity": {"route": "assistant", "candidates": [{"model": "m"}]},
        "config_hash": "sha256:" + "c" * 64,
        "config_source": "zonegate.yaml",
        "parameters": {"temperature": 0, "max_tokens": 32},
        "repeats": 2,
        "use_cache": True,
        "packages": {"zonegate": "0.1.0", "python": "3.11.9"},
        "principal": "eval",
        "team": "default",
        "created_at": T0,
    }
    fields.update(overrides)
    return RunInfo(**fields)


def make_result(item: str = "a", attempt: int = 0, **overrides: Any) -> AttemptResult:
    fields: dict[str, Any] = {
        "item_id": item,
        "attempt": attempt,
        "passed": True,
        "output": "4 — four",
        "scores": ({"scorer": "exact", "passed": True, "value": 1.0, "explanation": "matched"},),
        "latency_ms": 12.5,
        "prompt_tokens": 10,
        "completion_tokens": 3,
        "cost": Decimal("0.0000123457"),
        "currency": "USD",
        "served_model": "upstream-2026-01",
        "model_id": "vendor-model",
        "system_fingerprint": "fp_1",
        "request_id": new_id(),
        "recorded_at": T0 + timedelta(seconds=attempt),
    }
    fields.update(overrides)
    return AttemptResult(**fields)


def test_migration_creates_the_eval_tables_as_defined(db: Database) -> None:
    assert scalar(db, "SELECT version_num FROM alembic_version") == "0003"
    assert eval_tables.eval_runs.metadata is metadata
    with db.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert {"eval_runs", "eval_results", "eval_cache"} <= names


def test_a_run_round_trips_and_lists_newest_first(db: Database) -> None:
    repo = EvalRepository(db)
    first = make_run("arith")
    second = make_run("summaries", created_at=T0 + timedelta(minutes=1))
    third = make_run("arith", created_at=T0 + timedelta(minutes=2))
    for run in (first, second, third):
        repo.create_run(run)
    assert repo.get_run(first.run_id) == first
    assert [r.run_id for r in repo.list_runs()] == [third.run_id, second.run_id, first.run_id]
    assert [r.run_id for r in repo.list_runs(suite="arith")] == [third.run_id, first.run_id]
    assert [r.run_id for r in repo.list_runs(limit=1)] == [third.run_id]
    assert repo.list_runs(suite="nothing") == []
    assert repo.get_run(new_id()) is None


def test_finish_records_status_summary_and_served_models(db: Database) -> None:
    repo = EvalRepository(db)
    run = make_run()
    repo.create_run(run)
    ended = T0 + timedelta(minutes=5)
    summary = {"pass_rate": 0.5, "attempts": 2, "interval": {"low": 0.1, "high": 0.9}}
    repo.finish(
        run.run_id, "complete", summary=summary, served_models=["b", "a"], finished_at=ended
    )
    stored = repo.get_run(run.run_id)
    assert stored is not None
    assert (stored.status, stored.finished_at, stored.summary) == ("complete", ended, summary)
    assert stored.served_models == ("b", "a")
    repo.reopen(run.run_id)
    reopened = repo.get_run(run.run_id)
    assert reopened is not None
    assert (reopened.status, reopened.finished_at) == ("running", None)
    with pytest.raises(NotFound):
        repo.finish(new_id(), "complete", summary=None, served_models=[])
    with pytest.raises(ValueError, match="unknown run status"):
        repo.finish(run.run_id, "done", summary=None, served_models=[])  # type: ignore[arg-type]


def test_results_round_trip_exactly_and_a_pair_is_recorded_once(db: Database) -> None:
    repo = EvalRepository(db)
    run = make_run()
    repo.create_run(run)
    ok = make_result("a", 0)
    failed = make_result(
        "b",
        0,
        passed=False,
        output=None,
        scores=(),
        cost=None,
        currency=None,
        error_code="data_class_exceeds_zones",
        error_message="denied",
        tries=1,
    )
    cached = make_result("a", 1, cached=True, tries=0)
    for r in (ok, failed, cached):
        assert repo.add_result(run.run_id, r)
    assert repo.results(run.run_id) == [ok, cached, failed]
    rounded = make_result("c", 0, cost=Decimal("0.00001234567891"))
    assert repo.add_result(run.run_id, rounded)
    assert repo.results(run.run_id)[-1].cost == Decimal("0.0000123457")  # stored: 10 places
    assert repo.done_pairs(run.run_id) == {("a", 0), ("a", 1), ("b", 0), ("c", 0)}
    assert not repo.add_result(run.run_id, make_result("a", 0, output="other"))
    assert repo.results(run.run_id)[0].output == ok.output
    assert failed.is_error
    assert not ok.is_error


def test_results_cannot_exist_without_their_run(db: Database) -> None:
    repo = EvalRepository(db)
    with pytest.raises(db.row_errors):
        repo.add_result(new_id(), make_result())


def test_runs_resolve_by_an_unambiguous_prefix(db: Database) -> None:
    repo = EvalRepository(db)
    run = make_run(run_id="01234567-aaaa-7000-8000-000000000001")
    twin = make_run(run_id="01234567-aaaa-7000-8000-000000000002")
    other = make_run(run_id="89abcdef-bbbb-7000-8000-000000000003")
    for r in (run, twin, other):
        repo.create_run(r)
    assert repo.resolve(run.run_id).run_id == run.run_id
    assert repo.resolve("89abcdef").run_id == other.run_id
    with pytest.raises(InvalidRequest, match="more than one run"):
        repo.resolve("01234567-aaaa")
    with pytest.raises(NotFound, match="eval runs"):
        repo.resolve("0123")  # too short to be taken as a prefix
    with pytest.raises(NotFound):
        repo.resolve("fedcba98")
    with pytest.raises(NotFound):
        repo.resolve("01234567%")  # LIKE wildcards are matched literally


def _entry(key: str, output: str, fingerprint: str | None, at: datetime) -> CachedOutput:
    return CachedOutput(
        cache_key=key,
        output=output,
        model_id="m",
        served_model="m-served",
        system_fingerprint=fingerprint,
        latency_ms=5.0,
        prompt_tokens=3,
        completion_tokens=2,
        request_id=new_id(),
        created_at=at,
    )


def test_cache_returns_the_newest_entry_under_the_fingerprint_asked(db: Database) -> None:
    repo = EvalRepository(db)
    assert repo.cache_get("k") is None
    old = _entry("k", "old answer", "fp_a", T0)
    new = _entry("k", "new answer", "fp_b", T0 + timedelta(hours=1))
    other = _entry("k2", "unrelated", "fp_b", T0 + timedelta(hours=2))
    for e in (old, new, other):
        repo.cache_put(e)
    assert repo.cache_get("k") == new
    assert repo.cache_get("k", fingerprint="fp_a") == old
    assert repo.cache_get("k", fingerprint="fp_c") is None
    assert repo.cache_get("missing") is None
