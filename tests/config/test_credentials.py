"""Credential references resolve at run time; errors name the source, never the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonegate.config.credentials import CredentialError, resolve_secret


def test_env_reference() -> None:
    assert resolve_secret("env:VENDOR_API_KEY", {"VENDOR_API_KEY": "sk-abc"}) == "sk-abc"


def test_env_defaults_to_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZG_TEST_SECRET", "s3cret")
    assert resolve_secret("env:ZG_TEST_SECRET") == "s3cret"


def test_missing_env_names_variable_and_model() -> None:
    with pytest.raises(CredentialError) as info:
        resolve_secret("env:VENDOR_API_KEY", {}, needed_by="model 'vendor-chat'")
    message = str(info.value)
    assert "VENDOR_API_KEY is not set" in message
    assert "model 'vendor-chat'" in message


def test_empty_env_is_an_error() -> None:
    with pytest.raises(CredentialError, match="VENDOR_API_KEY is empty"):
        resolve_secret("env:VENDOR_API_KEY", {"VENDOR_API_KEY": ""})


def test_file_reference_strips_trailing_newline(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("sk-from-file\n")
    assert resolve_secret(f"file:{secret}", {}) == "sk-from-file"
    secret.write_text("line-with spaces  \r\n")
    assert resolve_secret(f"file:{secret}", {}) == "line-with spaces  "


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(CredentialError) as info:
        resolve_secret(f"file:{path}", {}, needed_by="model 'm'")
    assert str(path) in str(info.value)
    assert "does not exist" in str(info.value)
    assert "model 'm'" in str(info.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="cannot read secret file"):
        resolve_secret(f"file:{tmp_path}", {})


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_text("\n")
    with pytest.raises(CredentialError, match="is empty"):
        resolve_secret(f"file:{path}", {})


def test_literal_is_refused_without_echoing_it() -> None:
    with pytest.raises(CredentialError) as info:
        resolve_secret("sk-live-literal", {})
    assert "sk-live-literal" not in str(info.value)
    assert "env:NAME" in str(info.value)
