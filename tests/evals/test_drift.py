"""``zonegate drift run|status`` against real upstream processes, through the in-process gateway.

Two upstreams: ``tests.evals.drift_upstream``, whose answers the test changes between runs (a
vendor changing its model behind an unchanged name), and ``tests.support.upstream_server`` with
the ``echo`` model (the answer is the prompt), whose answers never change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.evals.drift_upstream import write_answers
from tests.evals.runner_support import make_suite
from tests.support.processes import Upstream, start_module, start_upstream
from zonegate.audit.verify import verify_all
from zonegate.cli import drift
from zonegate.config.load import load_config_text
from zonegate.evals.drift import (
    DriftTarget,
    compare,
    drift_targets,
    min_flips_to_alarm,
)
from zonegate.store.db import Database
from zonegate.store.eval_repo import AttemptResult, EvalRepository, RunInfo
from zonegate.store.tables import admin_events

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PROMPTS = [f"canary {word}" for word in WORDS]
ITEMS = [{"id": f"q{i}", "prompt": p, "reference": p} for i, p in enumerate(PROMPTS)]
SUITE_YAML = """
name: canary
description: ten items whose right answer is the prompt itself
parameters: {temperature: 0, max_tokens: 16}
scorers:
  - name: exact
"""


def config_text(base_url: str, upstream_model: str) -> str:
    return f"""
zones:
  local: {{operator: self, ceiling: restricted, region: eu}}
  vendor: {{operator: acme, ceiling: internal, region: us}}
models:
  vendor-model:
    zone: vendor
    provider: {{type: openai_compat, base_url: "{base_url}", model: "{upstream_model}"}}
    resilience: {{retry: {{attempts: 1}}, breaker: {{failures: 1000}}}}
  local-model:
    zone: local
    provider: {{type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: local}}
    health_check: {{enabled: false}}
routes:
  assistant:
    candidates: [vendor-model, local-model]
    drift: {{suite: canary, alpha: 0.05}}
  plain: {{candidates: [vendor-model]}}
teams:
  default: {{routes: ["*"], models: ["*"]}}
retention:
  public: {{content: full, ttl_days: 30}}
  restricted: {{content: hash, ttl_days: 180}}
"""


@dataclass
class Env:
    root: Path
    data: Path

    def configure(self, base_url: str, upstream_model: str) -> None:
        (self.root / "zonegate.yaml").write_text(config_text(base_url, upstream_model))

    def drift(self, *args: str) -> Any:
        argv = [*args, "--data-dir", str(self.data)]
        return CliRunner().invoke(drift.app, argv)

    def run_json(self, *args: str, code: int) -> dict[str, Any]:
        result = self.drift("run", "--retries", "0", "--json", *args)
        assert result.exit_code == code, result.output
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    def events(self) -> list[dict[str, Any]]:
        db = Database(f"sqlite:///{self.data / 'zonegate.db'}")
        try:
            with db.engine.connect() as conn:
                rows = conn.execute(
                    select(admin_events)
                    .where(admin_events.c.action.like("drift.%"))
                    .order_by(admin_events.c.seq)
                ).mappings()
                return [dict(r) for r in rows]
        finally:
            db.dispose()

    def results(self, run_id: str) -> list[AttemptResult]:
        db = Database(f"sqlite:///{self.data / 'zonegate.db'}")
        try:
            return EvalRepository(db).results(run_id)
        finally:
            db.dispose()

    def chains_verify(self) -> bool:
        db = Database(f"sqlite:///{self.data / 'zonegate.db'}")
        try:
            return all(r.ok for r in verify_all(db).values())
        finally:
            db.dispose()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """A working directory holding ./suites/canary and the config; state under data/."""
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "suites" / "canary"
    suite.mkdir(parents=True)
    (suite / "suite.yaml").write_text(SUITE_YAML)
    (suite / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    return Env(root=tmp_path, data=tmp_path / "data")


@dataclass
class Vendor:
    base_url: str
    answers: Path
    log: Path

    def answer(self, wrong: int, fingerprint: str = "fp_a") -> None:
        """The first ``wrong`` prompts get a wrong answer; the others are answered right."""
        write_answers(self.answers, {p: "no idea" for p in PROMPTS[:wrong]}, fingerprint)

    def calls(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0


@pytest.fixture
def vendor(tmp_path: Path) -> Iterator[Vendor]:
    """The changeable upstream, in its own process."""
    answers, log = tmp_path / "answers.json", tmp_path / "calls.jsonl"
    write_answers(answers, {})
    args = ["--port", "{port}", "--answers", str(answers), "--log", str(log)]
    with start_module(
        "tests.evals.drift_upstream", *args, log_dir=tmp_path / "logs", ready_path="/health"
    ) as process:
        yield Vendor(f"{process.url}/v1", answers, log)


@pytest.fixture(scope="module")
def echo_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with start_upstream(tmp_path_factory.mktemp("echo-upstream")) as upstream:
        yield upstream


def said(result: Any) -> str:
    """Everything printed, with the console's line wrapping undone."""
    return " ".join(result.output.split())


def only_check(output: dict[str, Any]) -> dict[str, Any]:
    [check] = output["checks"]
    return check


@pytest.mark.integration
def test_answers_changing_on_a_subset_of_items_raise_an_alarm(env: Env, vendor: Vendor) -> None:
    env.configure(vendor.base_url, "gpt-test-2026-01-01")

    # No baseline yet: this run becomes it, and no alarm is raised.
    first = only_check(env.run_json(code=0))
    assert first["verdict"] == "baseline"
    assert first["model"] == "vendor-model"  # the self-operated candidate is not checked
    assert first["served_models"]["now"] == ["upstream-gpt-test-2026-01-01"]
    assert "baseline from now on" in first["notes"][0]
    assert vendor.calls() == 10

    # Two answers change: real flips, but too few for McNemar at alpha 0.05. No alarm, and the
    # fingerprint change is a warning only.
    vendor.answer(wrong=2, fingerprint="fp_b")
    second = only_check(env.run_json(code=0))
    assert second["verdict"] == "ok"
    assert second["baseline_run_id"] == first["run_id"]
    assert second["flips"]["pass_to_fail"] == 2
    assert second["flips"]["pass_to_fail_items"] == ["q0", "q1"]
    assert second["mcnemar_p"] == pytest.approx(0.5)
    assert second["answers_changed"] == 2
    assert second["fingerprints"] == {"baseline": ["fp_a"], "now": ["fp_b"], "changed": True}
    assert any("system fingerprint changed" in w for w in second["warnings"])
    # The cache is off: every item was asked again although identical requests were cached.
    assert vendor.calls() == 20
    assert not any(r.cached for r in env.results(second["run_id"]))

    # Six answers change: compared with the first good run (not the previous one), an alarm.
    vendor.answer(wrong=6, fingerprint="fp_b")
    alarm = env.drift("run", "--retries", "0")
    assert alarm.exit_code == 1, alarm.output
    assert "ALARM" in alarm.stdout
    assert "McNemar p = 0.0313 < alpha 0.05" in alarm.stdout
    third = only_check(env.run_json(code=1))
    assert third["verdict"] == "alarm"
    assert third["baseline_run_id"] == first["run_id"]
    assert (third["flips"]["pass_to_fail"], third["flips"]["fail_to_pass"]) == (6, 0)
    assert third["mcnemar_p"] == pytest.approx(2 / 2**6)
    assert third["served_models"]["changed"] is False

    # A pinned baseline: the same six wrong answers as the last run, so nothing changed.
    pinned = only_check(env.run_json("--baseline", third["run_id"][:13], code=0))
    assert pinned["verdict"] == "ok"
    assert pinned["baseline_run_id"] == third["run_id"]
    assert pinned["baseline_pinned"] is True
    assert pinned["flips"]["pass_to_fail"] == pinned["flips"]["fail_to_pass"] == 0

    events = env.events()
    assert [e["action"] for e in events] == [
        "drift.check",
        "drift.check",
        "drift.alarm",
        "drift.alarm",
        "drift.check",
    ]
    assert {e["subject"] for e in events} == {"route:assistant"}
    recorded = events[3]["after"]
    assert recorded["baseline_run_id"] == first["run_id"]
    assert recorded["run_id"] == third["run_id"]
    assert recorded["flips"]["pass_to_fail"] == 6
    assert recorded["mcnemar_p"] == pytest.approx(0.03125)
    assert recorded["served_models"]["changed"] is False
    assert recorded["fingerprints"]["changed"] is True
    assert recorded["verdict"] == "alarm"
    assert env.chains_verify()

    status = env.drift("status", "--json")
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)
    [last] = shown["checks"]
    assert (last["route"], last["model"], last["verdict"]) == ("assistant", "vendor-model", "ok")
    assert last["run_id"] == pinned["run_id"]
    assert last["action"] == "drift.check"
    assert shown["unchecked"] == []
    table = env.drift("status")
    assert table.exit_code == 0, table.output
    assert "vendor-model" in table.stdout
    assert pinned["run_id"] in table.stdout


@pytest.mark.integration
def test_unchanged_answers_raise_no_alarm(env: Env, echo_upstream: Upstream) -> None:
    env.configure(echo_upstream.base_url, "echo")
    before = env.drift("status", "--json")
    assert json.loads(before.stdout) == {
        "checks": [],
        "unchecked": [{"route": "assistant", "model": "vendor-model"}],
    }
    first = only_check(env.run_json(code=0))
    assert first["verdict"] == "baseline"
    for _ in range(2):
        again = only_check(env.run_json(code=0))
        assert again["verdict"] == "ok"
        assert again["baseline_run_id"] == first["run_id"]
        assert again["paired_items"] == 10
        assert again["flips"]["pass_to_fail"] == again["flips"]["fail_to_pass"] == 0
        assert again["mcnemar_p"] == 1.0
        assert again["answers_changed"] == 0
        assert again["served_models"] == {
            "baseline": ["upstream-echo"],
            "now": ["upstream-echo"],
            "changed": False,
        }
        assert again["reasons"] == again["warnings"] == []
    assert [e["action"] for e in env.events()] == ["drift.check"] * 3
    text = env.drift("run", "--route", "assistant")
    assert text.exit_code == 0, text.output
    assert "ok" in text.stdout


@pytest.mark.integration
def test_a_served_model_change_alarms_with_identical_scores(
    env: Env, echo_upstream: Upstream
) -> None:
    env.configure(echo_upstream.base_url, "echo")
    first = only_check(env.run_json(code=0))
    # Same answers from a model the upstream names differently ('+v2' changes only the name).
    env.configure(echo_upstream.base_url, "echo+v2")
    check = only_check(env.run_json(code=1))
    assert check["verdict"] == "alarm"
    assert check["baseline_run_id"] == first["run_id"]
    assert check["flips"]["pass_to_fail"] == check["flips"]["fail_to_pass"] == 0
    assert check["answers_changed"] == 0
    assert check["served_models"] == {
        "baseline": ["upstream-echo"],
        "now": ["upstream-echo+v2"],
        "changed": True,
    }
    assert check["reasons"] == ["served model changed: upstream-echo -> upstream-echo+v2"]
    assert any("configured deployment" in w for w in check["warnings"])
    [_, alarm] = env.events()
    assert alarm["action"] == "drift.alarm"
    assert alarm["after"]["served_models"]["changed"] is True


@pytest.mark.integration
def test_a_run_with_errors_is_inconclusive_and_never_a_baseline(
    env: Env, echo_upstream: Upstream
) -> None:
    env.configure(echo_upstream.base_url, "status-500")
    failed = only_check(env.run_json(code=1))
    assert failed["verdict"] == "inconclusive"
    assert failed["errors"] == 10
    assert "ended in an error" in failed["reasons"][0]
    env.configure(echo_upstream.base_url, "echo")
    assert only_check(env.run_json(code=0))["verdict"] == "baseline"
    env.configure(echo_upstream.base_url, "status-500")
    after = only_check(env.run_json(code=1))
    assert after["verdict"] == "inconclusive"
    assert after["paired_items"] == 0
    assert [e["action"] for e in env.events()] == ["drift.check"] * 3


@pytest.mark.integration
def test_usage_errors_exit_2(env: Env, echo_upstream: Upstream) -> None:
    env.configure(echo_upstream.base_url, "echo")
    unknown = env.drift("run", "--route", "nope")
    assert unknown.exit_code == 2
    assert "unknown route 'nope'" in said(unknown)
    undrifted = env.drift("run", "--route", "plain")
    assert undrifted.exit_code == 2
    assert "has no drift check" in said(undrifted)
    missing = env.drift("run", "--baseline", "0190aaaa-0000-7000-8000-000000000000")
    assert missing.exit_code == 2
    assert "no evaluation run" in said(missing)
    first = only_check(env.run_json(code=0))
    (env.root / "suites" / "canary" / "suite.yaml").write_text(
        SUITE_YAML.replace("max_tokens: 16", "max_tokens: 12")
    )
    stale = env.drift("run", "--baseline", first["run_id"])
    assert stale.exit_code == 2
    assert "pin a run of the current version" in said(stale)
    assert [e["action"] for e in env.events()] == ["drift.check"]


# -- the rules, without processes ---------------------------------------------------------------


def test_targets_are_the_api_models_of_routes_with_drift() -> None:
    loaded = load_config_text(config_text("http://127.0.0.1:9/v1", "m"), source="t.yaml")
    targets, notes = drift_targets(loaded.config)
    assert targets == [DriftTarget("assistant", "vendor-model", "canary", 0.05)]
    assert notes == []
    self_only = config_text("http://127.0.0.1:9/v1", "m").replace(
        "candidates: [vendor-model, local-model]", "candidates: [local-model]"
    )
    loaded = load_config_text(self_only, source="t.yaml")
    targets, notes = drift_targets(loaded.config)
    assert targets == []
    assert "operated by 'self'" in notes[0]


def test_the_fewest_flips_that_can_alarm() -> None:
    # Two-sided exact McNemar with all m flips one way: p = 2 / 2**m.
    assert min_flips_to_alarm(0.05) == 6  # 2/64 = 0.031 < 0.05 <= 2/32
    assert min_flips_to_alarm(0.01) == 8  # 2/256 = 0.0078 < 0.01 <= 2/128
    assert min_flips_to_alarm(0.0625) == 6  # 2/32 is not below 0.0625


def _run(run_id: str) -> RunInfo:
    return RunInfo(
        run_id=run_id,
        schema_version=1,
        suite_name="canary",
        suite_version="v",
        suite={},
        requested_model="vendor-model",
        model_identity={"model": "vendor-model"},
        config_hash="h",
        config_source="t.yaml",
        parameters={},
        repeats=1,
        use_cache=False,
        packages={},
        principal="eval",
        team="default",
        status="complete",
        created_at=datetime.now(UTC),
    )


def _result(item: str, passed: bool, error: str | None = None) -> AttemptResult:
    return AttemptResult(
        item_id=item,
        attempt=0,
        passed=passed and error is None,
        output=None if error else ("right" if passed else "wrong"),
        scores=(),
        served_model=None if error else "served-1",
        error_code=error,
    )


def test_items_with_an_error_in_the_baseline_are_left_out() -> None:
    suite = make_suite({f"i{n}": f"p{n}" for n in range(8)})
    target = DriftTarget("assistant", "vendor-model", suite.name, 0.05)
    baseline = [_result("i0", True, error="upstream_error")] + [
        _result(f"i{n}", True) for n in range(1, 8)
    ]
    # Every item fails now; i0 errored in the baseline, so 7 flips are compared, not 8.
    now = [_result(f"i{n}", False) for n in range(8)]
    check = compare(target, suite, _run("new"), now, _run("old"), baseline, pinned=True)
    assert check.paired_items == 7
    assert check.excluded_items == 1
    assert check.regression_count == 7
    assert check.p_value == pytest.approx(2 / 2**7)
    assert check.verdict == "alarm"
    assert any("left out" in w for w in check.warnings)
