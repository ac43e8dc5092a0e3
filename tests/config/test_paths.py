"""Data directory and database URL resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonegate.config.paths import database_url, resolve_data_dir


def test_override_wins_and_is_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    env = {"ZONEGATE_DATA_DIR": str(tmp_path / "env"), "XDG_DATA_HOME": str(tmp_path / "x")}
    assert resolve_data_dir(target, env=env) == target
    assert target.is_dir()
    assert (target.stat().st_mode & 0o777) == 0o700


def test_env_var_next(tmp_path: Path) -> None:
    env = {"ZONEGATE_DATA_DIR": str(tmp_path / "env"), "XDG_DATA_HOME": str(tmp_path / "x")}
    assert resolve_data_dir(None, env=env) == tmp_path / "env"


def test_xdg_data_home_next(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "x")}
    assert resolve_data_dir(None, env=env) == tmp_path / "x" / "zonegate"


def test_relative_xdg_is_ignored_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    got = resolve_data_dir(None, env={"XDG_DATA_HOME": "relative/dir"}, create=False)
    assert got == tmp_path / ".local" / "share" / "zonegate"
    assert not got.exists()


def test_relative_override_becomes_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir(Path("state"), env={}) == tmp_path / "state"


def test_database_url(tmp_path: Path) -> None:
    assert database_url(tmp_path, env={}) == f"sqlite:///{tmp_path}/zonegate.db"
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert database_url(tmp_path, env={"ZONEGATE_DATABASE_URL": url}) == url


def test_database_url_reads_process_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZONEGATE_DATABASE_URL", "sqlite:////elsewhere.db")
    assert database_url(tmp_path) == "sqlite:////elsewhere.db"
