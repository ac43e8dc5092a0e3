"""``zonegate eval run|runs|show`` on a real in-process gateway whose upstreams are fakes (the
one seam: ``open_gateway`` gets the fakes through its ``prepare`` hook)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.evals.runner_support import ANSWERS, CONFIG, ScriptedUpstream, install
from zonegate.cli import eval_run
from zonegate.config.load import LoadedConfig
from zonegate.evals.client import GatewayClient, open_gateway
from zonegate.store.db import Database

SUITE_YAML = """
name: mini
description: three questions
parameters: {temperature: 0, max_tokens: 16}
scorers:
  - name: exact
"""
ITEMS = [
    {"id": "add", "prompt": "2+2?", "reference": "4"},
    {"id": "mul", "prompt": "2*3?", "reference": "6"},
    {"id": "cap", "prompt": "Capital of France?", "reference": "Paris"},
]


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("run")(eval_run.run)
    app.command("runs")(eval_run.runs)
    app.command("show")(eval_run.show)
    return app


def write_suite(root: Path, items: list[dict[str, Any]] = ITEMS) -> Path:
    directory = root / "suites" / "mini"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "suite.yaml").write_text(SUITE_YAML)
    (directory / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    return directory


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A config file, a suite under ./suites, a data dir, and fake upstreams."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zonegate.yaml").write_text(CONFIG)
    upstreams = {"vendor-model": ScriptedUpstream("vendor-model", answers=ANSWERS)}

    @asynccontextmanager
    async def with_fakes(
        loaded: LoadedConfig, db: Database, *, team: str
    ) -> AsyncIterator[GatewayClient]:
        async with open_gateway(loaded, db, team=team, prepare=install(upstreams)) as client:
            yield client

    monkeypatch.setattr(eval_run, "open_gateway", with_fakes)
    return {
        "suite": write_suite(tmp_path),
        "data": ["--data-dir", str(tmp_path / "data")],
        "upstreams": upstreams,
        "root": tmp_path,
    }


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli_app(), list(args))


def test_run_two_models_then_list_and_show(env: dict[str, Any]) -> None:
    result = invoke(
        "run",
        str(env["suite"]),
        "--model",
        "assistant",
        "--model",
        "vendor-model",
        "--param",
        "temperature=0.5",
        "--repeats",
        "2",
        "--json",
        *env["data"],
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert [r["model"] for r in made] == ["assistant", "vendor-model"]
    assert {r["status"] for r in made} == {"complete"}
    assert len({r["suite_version"] for r in made}) == 1
    assert made[0]["summary"]["attempts"] == 6
    assert made[0]["summary"]["pass_rate"] == pytest.approx(4 / 6)
    sent = env["upstreams"]["vendor-model"].calls
    assert len(sent) == 12
    assert {c.temperature for c in sent} == {0.5}

    listed = invoke("runs", "--json", *env["data"])
    assert listed.exit_code == 0, listed.output
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [
        made[1]["run_id"],
        made[0]["run_id"],
    ]
    assert json.loads(invoke("runs", "--suite", "other", "--json", *env["data"]).stdout) == []
    table = invoke("runs", *env["data"])
    assert made[0]["run_id"] in table.stdout
    assert "mini" in table.stdout

    shown = invoke("show", made[0]["run_id"][:-4], "--json", *env["data"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["schema_version"] == 1
    assert document["parameters"] == {"max_tokens": 16, "temperature": 0.5}
    assert len(document["results"]) == 6
    text = invoke("show", made[0]["run_id"], *env["data"])
    assert text.exit_code == 0, text.output
    assert "66.7%" in text.stdout
    assert "mul" in text.stdout


def test_a_suite_is_found_by_name_and_a_summary_table_printed(env: dict[str, Any]) -> None:
    result = invoke("run", "mini", "-m", "assistant", *env["data"])
    assert result.exit_code == 0, result.output
    assert "66.7%" in result.stdout
    assert "complete" in result.stdout


def test_resume_completes_a_run_and_refuses_a_changed_suite(env: dict[str, Any]) -> None:
    first = invoke("run", "mini", "-m", "assistant", "--json", *env["data"])
    run_id = json.loads(first.stdout)[0]["run_id"]
    again = invoke("run", "--resume", run_id, *env["data"])
    assert again.exit_code == 2
    assert "already complete" in again.output

    # An unfinished run: the database says so; resume runs only what is missing.
    db = Database(f"sqlite:///{env['root'] / 'data' / 'zonegate.db'}")
    try:
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "DELETE FROM eval_results WHERE run_id = ? AND item_id = 'cap'", (run_id,)
            )
            conn.exec_driver_sql(
                "UPDATE eval_runs SET status = 'interrupted' WHERE run_id = ?", (run_id,)
            )
    finally:
        db.dispose()
    calls = len(env["upstreams"]["vendor-model"].calls)
    with_model = invoke("run", "--resume", run_id, "--model", "x", *env["data"])
    assert with_model.exit_code == 2
    assert "drop --model" in with_model.output

    write_suite(env["root"], [*ITEMS, {"id": "sub", "prompt": "3-2?", "reference": "1"}])
    changed = invoke("run", "--resume", run_id, *env["data"])
    assert changed.exit_code == 2
    assert "resuming would mix two suites" in " ".join(changed.output.split())

    write_suite(env["root"])
    resumed = invoke("run", "--resume", run_id[:12], "--json", *env["data"])
    assert resumed.exit_code == 0, resumed.output
    [done] = json.loads(resumed.stdout)
    assert (done["run_id"], done["status"]) == (run_id, "complete")
    assert done["summary"]["attempts"] == 3
    # 'cap' was cached by the first run, so resuming it cost no call at all.
    assert len(env["upstreams"]["vendor-model"].calls) == calls


def test_bad_input_is_refused_with_a_clear_message(env: dict[str, Any]) -> None:
    bad_param = invoke("run", "mini", "-m", "assistant", "--param", "temperature", *env["data"])
    assert bad_param.exit_code == 2
    assert "is not key=value" in bad_param.output
    reserved = invoke("run", "mini", "-m", "assistant", "--param", "stream=true", *env["data"])
    assert reserved.exit_code == 2
    assert "set by the runner" in reserved.output
    team = invoke("run", "mini", "-m", "assistant", "--team", "nobody", *env["data"])
    assert team.exit_code == 2
    assert "unknown team 'nobody'" in team.output
    missing = invoke("run", "no-such-suite", "-m", "assistant", *env["data"])
    assert missing.exit_code == 2
    assert "no suite named 'no-such-suite'" in missing.output
    unknown_run = invoke("show", "0123456789", *env["data"])
    assert unknown_run.exit_code == 2
    assert "no evaluation run" in unknown_run.output
    unknown_model = invoke("run", "mini", "-m", "gpt-9", *env["data"])
    assert unknown_model.exit_code == 2
    assert "--model 'gpt-9' is neither a route nor a model" in unknown_model.output
    assert env["upstreams"]["vendor-model"].calls == []
    nothing = invoke("run", *env["data"])
    assert nothing.exit_code == 2
