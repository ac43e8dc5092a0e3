"""`zonegate models list` and the refusal to serve weights whose digest does not match."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.gateway_process import ZONEGATE, free_port
from zonegate.cli.main import app
from zonegate.config.schema import BUILTIN_MODEL_SHA256

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hybrid.yaml"


def test_models_list_builtin_verifies_the_bundled_weights(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["models", "list", "--verify", "--json", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    [model] = json.loads(result.stdout)
    assert model["model"] == "smollm2-135m"
    assert model["zone"] == "local"
    assert model["ceiling"] == "restricted"
    assert model["sha256"] == BUILTIN_MODEL_SHA256
    assert model["state"] == "weights verified"


def test_models_list_hybrid_reports_a_missing_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VENDOR_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["models", "list", "--json", "--config", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.stdout)}
    assert rows["vendor-chat"]["ceiling"] == "internal"
    assert rows["vendor-chat"]["state"].startswith("credential missing")
    assert "VENDOR_API_KEY" in rows["vendor-chat"]["state"]
    assert rows["smollm2-135m"]["state"].startswith("weights present")


def test_serve_refuses_weights_with_the_wrong_digest(tmp_path: Path) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF not really a model")
    expected = "0" * 64
    config = tmp_path / "zonegate.yaml"
    config.write_text(
        f"""
zones: {{local: {{ceiling: restricted}}}}
models:
  m:
    zone: local
    provider: {{type: llamacpp, model_path: "{weights}", sha256: "{expected}"}}
teams: {{default: {{models: ["*"]}}}}
"""
    )
    result = subprocess.run(
        [
            ZONEGATE,
            "serve",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "d"),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    out = " ".join(result.stderr.split())
    assert "digest mismatch" in out
    assert expected in out
    assert hashlib.sha256(weights.read_bytes()).hexdigest() in out
