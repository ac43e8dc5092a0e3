"""Every command takes --config and --data-dir; commands that print data take --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zonegate.cli.main import app


@pytest.mark.parametrize(
    "command",
    [
        ["config", "check"],
        ["config", "show"],
        ["config", "schema"],
        ["keys", "list"],
        ["models", "list"],
        ["audit", "verify"],
        ["audit", "tail"],
    ],
)
def test_commands_accept_config_and_data_dir(command: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*command, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_keys_create_json_prints_the_key_and_its_details(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["keys", "create", "--principal", "svc-a", "--json", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["principal"] == "svc-a"
    assert created["team"] == "default"
    assert created["key"].startswith(f"zg_{created['key_id']}_")
    listed = runner.invoke(app, ["keys", "list", "--json", "--data-dir", str(tmp_path)])
    assert created["key"] not in listed.stdout
    assert [k["key_id"] for k in json.loads(listed.stdout)] == [created["key_id"]]
