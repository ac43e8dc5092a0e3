"""``zonegate eval compare``, ``promote``, ``rollback`` and ``routes`` on a real state database,
with evidence runs written through the evaluation store."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from tests.evals.gate_support import VERSION_2, fails_at, store_run
from zonegate.cli import eval_compare, promote
from zonegate.config.paths import database_url
from zonegate.store.db import Database
from zonegate.store.eval_repo import EvalRepository, RunInfo
from zonegate.store.keys import KeyRepository
from zonegate.store.route_repo import RouteRepository
from zonegate.store.tables import admin_events

CONFIG = """
zones:
  local: {operator: self, ceiling: restricted, region: eu}
  vendor: {operator: acme, ceiling: internal, region: us}
models:
  local-model:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: local-upstream}
  vendor-model:
    zone: vendor
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: vendor-upstream}
  other-model:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: other-upstream}
routes:
  assistant:
    candidates: [vendor-model, local-model]
    gate: {suite: tickets, margin: 0.05, alpha: 0.05, min_items: 100, latency_p95_ms: 500}
  plain: {candidates: [vendor-model, local-model]}
teams:
  default: {routes: ["*"], models: ["*"]}
"""
N = 200
GOOD = fails_at(N, range(5))  # the candidate fails 5 items...
BASE = fails_at(N, range(5, 10))  # ...and the incumbent 5 others: non-inferior at 5 points
BAD = fails_at(N, range(20))  # 20 failures against the incumbent's 5


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("compare")(eval_compare.compare)
    app.command("promote")(promote.promote)
    app.command("rollback")(promote.rollback)
    app.command("routes")(promote.routes)
    return app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in ("ZONEGATE_CONFIG", "ZONEGATE_DATA_DIR", "ZONEGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ZONEGATE_ADMIN_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "zonegate.yaml"
    config.write_text(CONFIG)
    data_dir = tmp_path / "data"
    db = Database(database_url(data_dir))
    db.migrate()
    try:
        yield {"config": config, "data_dir": data_dir, "db": db}
    finally:
        db.dispose()


def run(env: dict[str, Any], *args: str) -> tuple[int, str, str]:
    common = ["--config", str(env["config"]), "--data-dir", str(env["data_dir"])]
    result = CliRunner().invoke(cli(), [*args, *common])
    return result.exit_code, result.stdout, result.stderr


def evidence(env: dict[str, Any], candidate: list[bool], **options: Any) -> tuple[RunInfo, RunInfo]:
    repo = EvalRepository(env["db"])
    cand = store_run(repo, "local-model", candidate, minutes=2, **options)
    inc = store_run(repo, "vendor-model", BASE, minutes=1)
    return cand, inc


def trail(env: dict[str, Any]) -> list[dict[str, Any]]:
    with env["db"].engine.connect() as conn:
        rows = conn.execute(select(admin_events).order_by(admin_events.c.seq)).mappings()
        return [dict(r) for r in rows if r["subject"].startswith("route:")]


def current_model(env: dict[str, Any], route: str = "assistant") -> str | None:
    change = RouteRepository(env["db"]).current(route)
    return None if change is None else change.model


def unwrap(text: str) -> str:
    """The words of Rich output, without line wraps or table borders."""
    return " ".join(re.sub("[\u2500-\u257f]", " ", text).split())


# -- promote ------------------------------------------------------------------------------------


def test_promote_is_refused_without_evidence(env: dict[str, Any]) -> None:
    code, _, err = run(env, "promote", "assistant", "local-model")
    assert code == 1
    assert "promotion refused: no complete run of suite 'tickets' for 'local-model'" in unwrap(err)
    assert current_model(env) is None
    assert trail(env) == []


def test_promote_is_refused_when_the_evidence_fails_the_gate(env: dict[str, Any]) -> None:
    evidence(env, BAD)
    code, _, err = run(env, "promote", "assistant", "local-model")
    assert code == 1
    text = unwrap(err)
    assert "the gate does not pass: non_inferiority" in text
    assert "candidate fails 10.00% of items, incumbent 2.50%" in text
    assert "FAIL" in text
    assert current_model(env) is None
    assert trail(env) == []


def test_promote_is_refused_when_the_latency_ceiling_is_broken(env: dict[str, Any]) -> None:
    evidence(env, GOOD, latency_ms=900.0)
    code, _, err = run(env, "promote", "assistant", "local-model")
    assert code == 1
    assert "latency_p95: candidate p95 latency 900.0 ms above the ceiling 500 ms" in unwrap(err)


def test_promote_with_passing_evidence_records_the_runs(env: dict[str, Any]) -> None:
    cand, inc = evidence(env, GOOD)
    code, out, err = run(env, "promote", "assistant", "local-model", "--json")
    assert code == 0, err
    change = json.loads(out)
    assert change["model"] == "local-model"
    assert (change["candidate_run_id"], change["incumbent_run_id"]) == (cand.run_id, inc.run_id)
    assert change["verdict"]["passed"] is True
    assert change["override"] is False
    assert current_model(env) == "local-model"
    [event] = trail(env)
    assert (event["action"], event["actor"]) == ("promote", "cli")
    assert event["after"]["run_ids"] == [cand.run_id, inc.run_id]
    assert event["after"]["promotion_id"] == change["promotion_id"]
    assert event["before"]["model"] is None
    # Promoting it again changes nothing.
    code, _, err = run(env, "promote", "assistant", "local-model")
    assert code == 2
    assert "already first" in err


def test_promote_refuses_a_model_that_is_not_a_candidate(env: dict[str, Any]) -> None:
    code, _, err = run(env, "promote", "assistant", "other-model")
    assert code == 2
    assert "not a candidate of route 'assistant'" in unwrap(err)
    code, _, err = run(env, "promote", "nowhere", "local-model")
    assert code == 2
    assert "unknown route 'nowhere'" in err


def test_mixed_suite_versions_refuse_the_promotion(env: dict[str, Any]) -> None:
    evidence(env, GOOD, version=VERSION_2)
    code, _, err = run(env, "promote", "assistant", "local-model")
    assert code == 1
    assert "different suite versions" in unwrap(err)


# -- override -----------------------------------------------------------------------------------


def test_an_override_needs_a_reason_and_an_admin_key(env: dict[str, Any]) -> None:
    keys = KeyRepository(env["db"])
    user_key = keys.create("bob", role="user").secret
    admin = keys.create("alice", role="admin")
    code, _, err = run(env, "promote", "assistant", "local-model", "--override")
    assert code == 2
    assert "--override needs --reason" in err
    code, _, err = run(env, "promote", "assistant", "local-model", "--override", "--reason", "x")
    assert code == 2
    assert "admin API key" in err
    code, _, err = run(env, *_override("vendor outage"), "--admin-key", user_key)
    assert code == 1
    assert "an override needs an admin key" in unwrap(err)
    assert trail(env) == []

    code, out, err = run(env, *_override("vendor outage"), "--admin-key", admin.secret, "--json")
    assert code == 0, err
    change = json.loads(out)
    assert (change["action"], change["override"], change["reason"]) == (
        "promote.override",
        True,
        "vendor outage",
    )
    assert change["verdict"] is None  # there was no evidence at all
    [event] = trail(env)
    assert event["action"] == "promote.override"
    assert event["actor"] == f"alice (key {admin.key_id})"
    assert event["after"]["reason"] == "vendor outage"


def test_an_override_of_a_failing_gate_keeps_the_failing_verdict(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cand, inc = evidence(env, BAD)
    monkeypatch.setenv(
        "ZONEGATE_ADMIN_KEY", KeyRepository(env["db"]).create("ops", role="admin").secret
    )
    code, out, err = run(env, *_override("legal requires on-premises"), "--json")
    assert code == 0, err
    change = json.loads(out)
    assert change["verdict"]["passed"] is False
    assert (change["candidate_run_id"], change["incumbent_run_id"]) == (cand.run_id, inc.run_id)


def _override(reason: str) -> list[str]:
    return ["promote", "assistant", "local-model", "--override", "--reason", reason]


# -- rollback and status ------------------------------------------------------------------------


def test_rollback_restores_the_config_order_and_the_trail_shows_everything(
    env: dict[str, Any],
) -> None:
    code, _, err = run(env, "rollback", "assistant")
    assert code == 1
    assert "no promotion to roll back" in unwrap(err)

    evidence(env, GOOD)
    assert run(env, "promote", "assistant", "local-model")[0] == 0
    code, out, err = run(env, "rollback", "assistant", "--reason", "complaints", "--json")
    assert code == 0, err
    assert json.loads(out)["model"] is None
    assert "serves in its configured order (vendor-model, local-model)" in unwrap(err)
    assert current_model(env) is None
    actions = [(e["action"], e["before"]["model"], e["after"]["model"]) for e in trail(env)]
    assert actions == [("promote", None, "local-model"), ("rollback", "local-model", None)]
    rolled = trail(env)[1]["after"]["rolled_back"]
    assert len(rolled["run_ids"]) == 2


def test_routes_shows_the_order_now_and_a_routes_history(env: dict[str, Any]) -> None:
    evidence(env, GOOD)
    assert run(env, "promote", "assistant", "local-model")[0] == 0
    code, out, _ = run(env, "routes", "--json")
    assert code == 0
    rows = {r["route"]: r for r in json.loads(out)}
    assert rows["assistant"]["order"] == ["local-model", "vendor-model"]
    assert rows["assistant"]["promotion_id"] is not None
    assert rows["plain"]["order"] == ["vendor-model", "local-model"]
    assert rows["plain"]["promotion_id"] is None
    code, out, _ = run(env, "routes", "assistant", "--json")
    assert code == 0
    assert [c["action"] for c in json.loads(out)] == ["promote"]


# -- compare ------------------------------------------------------------------------------------


def test_compare_prints_the_verdict_with_the_numbers(env: dict[str, Any]) -> None:
    cand, inc = evidence(env, GOOD)
    code, out, err = run(
        env, "compare", "--suite", "tickets", "--candidate", "local-model",
        "--incumbent", "vendor-model", "--margin", "0.05",
    )  # fmt: skip
    assert code == 0, err
    text = unwrap(out)
    for expected in (
        cand.run_id,
        inc.run_id,
        "candidate passes 190 5",  # both pass, incumbent-only failures
        "candidate fails 5 0",
        "2.50%",  # each model's failure rate
        "+0.00 points",
        "upper 95% bound of d (Tango)",
        "McNemar exact p (two-sided) 1",
        "non-inferiority p (Tango score)",
        "latency p95 100.0 ms 100.0 ms",
        "PASS",
    ):
        assert expected in text, expected


def test_compare_takes_the_routes_gate_and_exits_1_when_it_fails(env: dict[str, Any]) -> None:
    evidence(env, BAD)
    code, out, _ = run(
        env, "compare", "--route", "assistant", "--candidate", "local-model", "--json"
    )
    assert code == 1
    verdict = json.loads(out)
    assert verdict["passed"] is False
    assert verdict["settings"]["margin"] == 0.05
    assert verdict["settings"]["latency_p95_ms"] == 500
    assert verdict["incumbent"]["model"] == "vendor-model"  # the model first on the route now
    assert [c["name"] for c in verdict["checks"] if not c["passed"]] == ["non_inferiority"]
    # A looser margin given on the command line wins over the gate's.
    code, out, _ = run(
        env, "compare", "--route", "assistant", "--candidate", "local-model", "--margin", "0.3",
        "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["settings"]["margin"] == 0.3


def test_compare_without_evidence_or_settings_exits_2(env: dict[str, Any]) -> None:
    code, _, err = run(env, "compare", "--candidate", "local-model")
    assert code == 2
    assert "--suite and --incumbent" in err
    code, _, err = run(
        env, "compare", "--suite", "tickets", "--candidate", "local-model",
        "--incumbent", "vendor-model",
    )  # fmt: skip
    assert code == 2
    assert "no complete run" in err
    code, _, err = run(env, "compare", "--route", "plain", "--candidate", "local-model")
    assert code == 2
    assert "route 'plain' has no gate" in unwrap(err)
    evidence(env, GOOD)
    code, _, err = run(
        env, "compare", "--route", "assistant", "--candidate", "local-model",
        "--cost-per-1k", "cheap",
    )  # fmt: skip
    assert code == 2
    assert "--cost-per-1k 'cheap' is not a number" in err
