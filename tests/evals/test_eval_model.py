"""End to end on the real embedded model: ``zonegate eval run`` with the built-in config runs a
three-item suite on SmolLM2 through the gateway, records it, audits it and caches it."""

from __future__ import annotations

import json
from pathlib import Path

# Imported at collection: first imported inside a test (warnings as errors), the /dev/null
# handles llama_cpp keeps open for its whole life are reported as errors at exit.
import llama_cpp  # noqa: F401
import pytest
import typer
from typer.testing import CliRunner

from zonegate.audit.export import iter_records
from zonegate.cli import eval_run
from zonegate.config.builtin import BUILTIN_MODEL_ID
from zonegate.store.db import Database

pytestmark = pytest.mark.model

SUITE = """
name: tiny-capitals
description: three capitals, answered by the embedded model
parameters: {temperature: 0, max_tokens: 12}
scorers:
  - name: contains
items:
  - {id: france, prompt: "What is the capital of France?", reference: Paris}
  - {id: japan, prompt: "What is the capital of Japan?", reference: Tokyo}
  - {id: italy, prompt: "What is the capital of Italy?", reference: Rome}
"""


def test_a_tiny_suite_runs_on_the_embedded_model_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./zonegate.yaml: the built-in config
    monkeypatch.delenv("ZONEGATE_CONFIG", raising=False)
    (tmp_path / "tiny.suite.yaml").write_text(SUITE)
    app = typer.Typer()
    app.command("run")(eval_run.run)
    app.command("show")(eval_run.show)
    data = ["--data-dir", str(tmp_path / "data")]
    args = ["run", "tiny.suite.yaml", "--model", BUILTIN_MODEL_ID, "--json", *data]

    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    [run] = json.loads(first.stdout)
    assert run["status"] == "complete"
    summary = run["summary"]
    assert (summary["attempts"], summary["errors"], summary["cached"]) == (3, 0, 0)
    assert run["served_models"]  # what llama.cpp reported as the model

    shown = CliRunner().invoke(app, ["show", run["run_id"], "--json", *data])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["config"]["source"] == "<built-in>"
    assert document["model"]["identity"]["model"] == BUILTIN_MODEL_ID
    results = document["results"]
    assert [r["item_id"] for r in results] == ["france", "japan", "italy"]
    for r in results:
        assert r["output"]
        assert r["model_id"] == BUILTIN_MODEL_ID
        assert r["prompt_tokens"] > 0
        assert 0 < r["completion_tokens"] <= 12
        assert r["latency_ms"] > 0
        assert r["cost"] is None  # the local model has no price
        assert r["scores"][0]["scorer"] == "contains"
        assert r["passed"] == r["scores"][0]["passed"]

    db = Database(f"sqlite:///{tmp_path / 'data' / 'zonegate.db'}")
    try:
        records = {r["request_id"]: r for r in iter_records(db)}
    finally:
        db.dispose()
    for r in results:
        record = records[r["request_id"]]
        assert (record["purpose"], record["model_id"], record["decision"]) == (
            "evaluation",
            BUILTIN_MODEL_ID,
            "allow",
        )

    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    [again] = json.loads(second.stdout)
    assert again["summary"]["cached"] == 3
    assert again["summary"]["pass_rate"] == summary["pass_rate"]
