"""``zonegate eval suites``: the listing, its JSON form, and broken suites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from zonegate.cli.eval_suites import suites
from zonegate.cli.main import app
from zonegate.evals.suite import EXAMPLES_DIR, load_suite, short_version


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("suites")(suites)

    @app.callback()
    def root() -> None:
        """Keep ``suites`` a subcommand."""

    return app


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli_app(), ["suites", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def write_suite(directory: Path, items: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "suite.yaml").write_text(
        "name: local\nroute: support\nscorers: [exact]\n", encoding="utf-8"
    )
    (directory / "items.jsonl").write_text(items, encoding="utf-8")
    return directory


def test_lists_the_shipped_examples_and_dot_suites_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_suite(tmp_path / "suites" / "local", '{"id": "a", "prompt": "q", "reference": "x"}\n')
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke()
    assert (code, err) == (0, "")
    for name in ("capitals", "sentiment", "json_extract"):
        suite = load_suite(EXAMPLES_DIR / name)
        row = next(line for line in out.splitlines() if f" {name} " in line)
        assert short_version(suite.version) in row
        assert f" {len(suite.items)} " in row
        assert f"examples/{name}" in row
        assert suite.route is not None
        assert suite.route in row
    local = next(line for line in out.splitlines() if " local " in line)
    assert "exact" in local
    assert "support" in local
    assert "suites/local" in local
    assert f"examples/ is {EXAMPLES_DIR}" in out


def test_json_output_has_full_versions_and_paths(tmp_path: Path) -> None:
    path = write_suite(tmp_path / "local", '{"id": "a", "prompt": "q", "reference": "x"}\n')
    code, out, _ = invoke("--json", str(path), str(EXAMPLES_DIR / "capitals"))
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["local", "capitals"]
    assert rows[0] == {
        "name": "local",
        "description": "",
        "version": load_suite(path).version,
        "items": 1,
        "scorers": ["exact"],
        "route": "support",
        "tags": [],
        "parameters": {},
        "path": str(path),
    }
    assert rows[1]["parameters"] == {"temperature": 0.0, "max_tokens": 24}


def test_broken_suites_are_reported_with_file_and_line_and_exit_2(tmp_path: Path) -> None:
    good = write_suite(tmp_path / "good", '{"id": "a", "prompt": "q", "reference": "x"}\n')
    bad = write_suite(
        tmp_path / "bad", '{"id": "a", "prompt": "q", "reference": "x"}\n{"id": "a"}\n'
    )
    code, out, err = invoke(str(good), str(bad), str(tmp_path / "absent"))
    assert code == 2
    assert " local " in out  # the good one is still listed
    assert err.splitlines() == [
        f"{bad / 'items.jsonl'}:2: an item needs 'prompt' (one user message) or 'messages' "
        "(a chat conversation)",
        f"{tmp_path / 'absent'}: no such file or directory",
    ]


def test_nothing_found(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out, err = invoke("--json", str(tmp_path / "empty"))
    assert code == 2
    assert json.loads(out) == []
    assert "not a suite: the directory holds no suite.yaml" in err


def test_export_suite_writes_a_file_that_is_the_same_suite(tmp_path: Path) -> None:
    out = tmp_path / "exported" / "capitals.suite.jsonl"
    result = CliRunner().invoke(app, ["eval", "export-suite", "capitals", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    original = load_suite(EXAMPLES_DIR / "capitals")
    assert load_suite(out).version == original.version
    header = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert header["items"] == len(original.items)

    missing = CliRunner().invoke(app, ["eval", "export-suite", "no-such-suite"])
    assert missing.exit_code == 2
    assert "no suite named 'no-such-suite'" in " ".join(missing.stderr.split())
