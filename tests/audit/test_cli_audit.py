"""``zonegate audit verify | tail | export`` against a real SQLite log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.store.backends import execute, make_record
from zonegate.cli.audit import app
from zonegate.config.paths import database_url
from zonegate.store.audit_repo import append_records
from zonegate.store.db import Database


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ZONEGATE_CONFIG", "ZONEGATE_DATA_DIR", "ZONEGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./zonegate.yaml: the built-in config
    return tmp_path / "data"


@pytest.fixture
def log(data_dir: Path) -> Iterator[Database]:
    db = Database(database_url(data_dir))
    db.migrate()
    append_records(db, [make_record(i) for i in range(25)])
    try:
        yield db
    finally:
        db.dispose()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_verify_passes_on_an_intact_log(log: Database, data_dir: Path) -> None:
    code, out, _ = run("verify", "--data-dir", str(data_dir))
    assert code == 0, out
    assert "audit records: 25 checked, intact" in out
    assert "admin events: 0 checked, intact" in out


def test_verify_fails_naming_the_tampered_record(log: Database, data_dir: Path) -> None:
    execute(log, "UPDATE audit_records SET decision = 'deny', status = 403 WHERE seq = 7")
    execute(log, "DELETE FROM audit_records WHERE seq = 12")
    code, out, _ = run("verify", "--data-dir", str(data_dir))
    assert code == 1
    assert "TAMPERED (2 problems)" in out
    assert "record seq 7 (request_id " in out
    assert "a record between seq 11 and 13 is missing" in out
    code, out, _ = run("verify", "--data-dir", str(data_dir), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert [p["seq"] for p in report["chains"]["audit"]["problems"]] == [7, 12]


def test_tail_shows_the_newest_records(log: Database, data_dir: Path) -> None:
    code, out, _ = run("tail", "--data-dir", str(data_dir), "-n", "3", "--json")
    assert code == 0
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [23, 24, 25]
    code, out, _ = run("tail", "--data-dir", str(data_dir))
    assert code == 0
    assert "smollm2@local" in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) >= 20  # 20 records (long cells may wrap onto more lines)
    assert any(line.startswith("│ 25 ") for line in rows)
    assert not any(line.startswith("│ 5 ") for line in rows)


def test_tail_on_an_empty_log(data_dir: Path) -> None:
    code, out, err = run("tail", "--data-dir", str(data_dir))
    assert code == 0
    assert out == ""
    assert "empty" in err


def test_export_writes_json_lines_for_a_time_range(
    log: Database, data_dir: Path, tmp_path: Path
) -> None:
    code, out, err = run("export", "--data-dir", str(data_dir), "--since", "2026-03-01T12:00:20Z")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [r["seq"] for r in lines] == [21, 22, 23, 24, 25]
    assert "exported 5 records" in err

    target = tmp_path / "out" / "audit.jsonl"
    target.parent.mkdir()
    code, out, err = run(
        "export",
        "--data-dir",
        str(data_dir),
        "--since",
        "2026-03-01",
        "--until",
        "2026-03-01T12:00:03Z",
        "--format",
        "jsonl",
        "--output",
        str(target),
    )
    assert code == 0, err
    assert out == ""
    assert [json.loads(line)["seq"] for line in target.read_text().splitlines()] == [1, 2, 3]


def test_export_rejects_bad_arguments_clearly(data_dir: Path) -> None:
    code, _, err = run("export", "--data-dir", str(data_dir), "--since", "last tuesday")
    assert code == 2
    assert "--since: invalid time 'last tuesday'" in err
    code, _, err = run("export", "--data-dir", str(data_dir), "--format", "csv")
    assert code == 2
    assert "only 'jsonl' is supported" in err
