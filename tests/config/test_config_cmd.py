"""``zonegate config check | schema | show`` through the Typer sub-app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from zonegate.cli.config_cmd import app
from zonegate.config.load import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hybrid.yaml"

BROKEN = """\
zones:
  local: {ceiling: restricted, regoin: eu}
models:
  m:
    zone: local
    provider: {type: openai_compat, base_url: "http://h/v1", model: x, api_key: sk-123}
routes:
  r: {candidates: [m, ghost]}
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("ZONEGATE_CONFIG", "VENDOR_BASE_URL", "VENDOR_MODEL", "VENDOR_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_check_example_passes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    expected_hash = load_config(EXAMPLE, env={}).hash
    lines = result.stdout.splitlines()
    assert lines[0] == f"ok: {EXAMPLE} (config hash {expected_hash})"
    assert "2 zones (local, vendor)" in lines[1]
    assert "2 models (smollm2-135m, vendor-chat)" in lines[1]
    assert "assistant" in lines[1]
    assert result.stderr == ""


def test_check_reports_every_problem_and_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{path}:2: zones.local.regoin: unknown key 'regoin'")
    assert lines[1].startswith(f"{path}:6: models.m.provider.api_key: credentials must be")
    assert lines[2].startswith(f"{path}:8: routes.r.candidates.1: unknown model 'ghost'")
    assert lines[3] == "3 problems found"
    assert "sk-123" not in result.stderr


def test_check_json(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    result = runner.invoke(app, ["check", "--json", str(path)])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["ok"] is False
    assert [(p["line"], p["path"]) for p in body["problems"]] == [
        (2, "zones.local.regoin"),
        (6, "models.m.provider.api_key"),
        (8, "routes.r.candidates.1"),
    ]
    ok = runner.invoke(app, ["check", "--json", str(EXAMPLE)])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["hash"] == load_config(EXAMPLE, env={}).hash


def test_check_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 1
    assert "config file not found" in result.stderr


def test_check_uses_config_option_and_env(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    assert runner.invoke(app, ["check", "--config", str(path)]).exit_code == 1
    monkeypatch.setenv("ZONEGATE_CONFIG", str(path))
    assert runner.invoke(app, ["check"]).exit_code == 1
    assert runner.invoke(app, ["check", str(EXAMPLE)]).exit_code == 0


def test_check_without_any_file_checks_the_builtin(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: <built-in> (config hash sha256:")


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


def test_schema_prints_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.stderr == ""
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"] == "zonegate configuration"
    assert set(schema["required"]) == {"zones", "models"}
    assert {"zones", "models", "routes", "teams", "retention"} <= set(schema["properties"])
    objects = _objects(schema)
    assert len(objects) > 10
    assert all(obj.get("additionalProperties") is False for obj in objects)
    provider = schema["$defs"]["ModelConfig"]["properties"]["provider"]
    assert provider["discriminator"]["propertyName"] == "type"


def test_show_prints_effective_config_and_hash(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", str(EXAMPLE)], env={"VENDOR_API_KEY": "sk-real-secret"})
    assert result.exit_code == 0, result.output
    loaded = load_config(EXAMPLE, env={})
    assert re.search(rf"^# config hash: {loaded.hash}$", result.stdout, re.MULTILINE)
    shown = yaml.safe_load(result.stdout)
    assert shown == loaded.config.model_dump(mode="json")
    assert shown["models"]["vendor-chat"]["provider"]["base_url"] == "https://api.openai.com/v1"
    assert shown["models"]["vendor-chat"]["provider"]["api_key"] == "env:VENDOR_API_KEY"
    assert "sk-real-secret" not in result.output


def test_show_interpolates(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["show", "--json", str(EXAMPLE)], env={"VENDOR_MODEL": "gpt-4o-mini-2024-07-18"}
    )
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["config"]["models"]["vendor-chat"]["provider"]["model"] == (
        "gpt-4o-mini-2024-07-18"
    )
    assert body["hash"] != load_config(EXAMPLE, env={}).hash


def test_show_broken_config_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    result = runner.invoke(app, ["show", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "unknown key 'regoin'" in result.stderr
