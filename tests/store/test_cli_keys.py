"""``zonegate keys create | list | revoke``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zonegate.cli.keys import app
from zonegate.config.paths import database_url
from zonegate.store.db import Database
from zonegate.store.keys import KeyRepository


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ZONEGATE_CONFIG", "ZONEGATE_DATA_DIR", "ZONEGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./zonegate.yaml: the built-in config (team 'default')
    return tmp_path / "data"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _repo(data_dir: Path) -> tuple[Database, KeyRepository]:
    db = Database(database_url(data_dir))
    return db, KeyRepository(db)


def test_create_prints_only_the_key_on_stdout(data_dir: Path) -> None:
    code, out, err = run("create", "--principal", "svc-a", "--data-dir", str(data_dir))
    assert code == 0, err
    assert re.fullmatch(r"zg_[0-9a-f]{32}_[A-Za-z0-9_-]{43}\n", out)
    assert "only time the key is shown" in err
    db, repo = _repo(data_dir)
    try:
        info = repo.verify(out.strip())
        assert info is not None
        assert (info.principal, info.team, info.role) == ("svc-a", "default", "user")
    finally:
        db.dispose()


def test_create_an_admin_key(data_dir: Path) -> None:
    code, out, _ = run("create", "-p", "ops", "--role", "admin", "--data-dir", str(data_dir))
    assert code == 0
    db, repo = _repo(data_dir)
    try:
        assert repo.has_admin()
        info = repo.verify(out.strip())
        assert info is not None
        assert info.role == "admin"
    finally:
        db.dispose()


def test_create_refuses_unknown_teams_and_roles(data_dir: Path) -> None:
    code, out, err = run("create", "-p", "x", "--team", "nope", "--data-dir", str(data_dir))
    assert code == 2
    assert out == ""
    assert "unknown team 'nope'" in err
    assert "default" in err
    code, out, err = run("create", "-p", "x", "--role", "root", "--data-dir", str(data_dir))
    assert code == 2
    assert out == ""
    assert "unknown role 'root'" in err


def test_list_and_revoke(data_dir: Path) -> None:
    _, key_a, _ = run("create", "-p", "alpha", "--data-dir", str(data_dir))
    _, key_b, _ = run("create", "-p", "beta", "--data-dir", str(data_dir))
    key_a, key_b = key_a.strip(), key_b.strip()
    key_id_a = key_a.split("_")[1]

    code, out, _ = run("list", "--json", "--data-dir", str(data_dir))
    assert code == 0
    listed = json.loads(out)
    assert [k["principal"] for k in listed] == ["alpha", "beta"]
    for key in (key_a, key_b):
        assert key.split("_", 2)[2] not in out

    code, out, _ = run("list", "--data-dir", str(data_dir))
    assert code == 0
    assert key_id_a in out
    assert "active" in out

    code, _, err = run("revoke", key_id_a, "--data-dir", str(data_dir))
    assert code == 0
    assert "is revoked" in err
    code, _, err = run("revoke", key_id_a, "--data-dir", str(data_dir))
    assert code == 0
    assert "already revoked" in err
    db, repo = _repo(data_dir)
    try:
        assert repo.verify(key_a) is None
        assert repo.verify(key_b) is not None
    finally:
        db.dispose()

    code, _, err = run("revoke", "0" * 32, "--data-dir", str(data_dir))
    assert code == 1
    assert "no API key with id" in err
