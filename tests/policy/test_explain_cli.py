"""``zonegate explain`` through Typer's runner, against a config file on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from zonegate.cli.explain import explain

CONFIG = """
zones:
  local: {ceiling: restricted, operator: self}
  vendor: {ceiling: internal, operator: acme, region: us}
models:
  local-model: {zone: local, provider: {type: llamacpp}}
  vendor-model:
    zone: vendor
    provider:
      type: openai_compat
      base_url: https://api.example.com/v1
      model: gpt-4o-mini
      api_key: env:VENDOR_API_KEY
routes:
  assistant: {candidates: [vendor-model, local-model]}
  vendor-only: {candidates: [vendor-model]}
teams:
  default: {routes: ["*"]}
"""
CARD = "4111 1111 1111 1111"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(explain)
    return app


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "zonegate.yaml"
    path.write_text(CONFIG)
    return path


def invoke(app: typer.Typer, *args: str, input: str | None = None) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr with Rich's line wrapping undone."""
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def test_inline_text_with_a_card_is_routed_to_the_local_model(
    app: typer.Typer, config_file: Path
) -> None:
    code, out, _ = invoke(app, "-c", str(config_file), "-r", "assistant", "-t", f"card {CARD}")
    assert code == 0
    assert "payment_card" in out
    assert "restricted" in out
    assert "vendor-model" in out
    assert "dropped" in out
    assert "allow local-model" in out
    assert "where (text [start:end])" in out
    assert "0 [5:24]" in out
    assert CARD not in out


def test_json_output(app: typer.Typer, config_file: Path) -> None:
    code, out, _ = invoke(
        app, "-c", str(config_file), "--route", "vendor-only", "--text", f"card {CARD}", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["decision"]["outcome"] == "deny"
    assert doc["decision"]["reason"] == "data_class_exceeds_zones"
    assert doc["classification"]["findings"][0]["type"] == "payment_card"
    assert doc["candidates"][0]["model"] == "vendor-model"
    assert CARD not in out


def test_a_denial_is_printed_with_its_reason(app: typer.Typer, config_file: Path) -> None:
    code, out, _ = invoke(app, "-c", str(config_file), "-r", "vendor-only", "-t", f"card {CARD}")
    assert code == 0
    assert "deny data_class_exceeds_zones" in out


def test_a_request_file_uses_its_model_as_the_route(
    app: typer.Typer, config_file: Path, tmp_path: Path
) -> None:
    request = tmp_path / "request.json"
    body = {"model": "vendor-only", "messages": [{"role": "user", "content": "mail a@example.com"}]}
    request.write_text(json.dumps(body))
    code, out, _ = invoke(app, "-c", str(config_file), str(request), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["route"] == "vendor-only"
    assert doc["classification"]["effective_class"] == "confidential"
    assert doc["decision"]["reason"] == "data_class_exceeds_zones"
    # --route overrides the body's model; --data-class and --purpose are passed on.
    code, out, _ = invoke(
        app,
        "-c",
        str(config_file),
        str(request),
        "-r",
        "assistant",
        "--data-class",
        "restricted",
        "--purpose",
        "triage",
        "--team",
        "default",
        "--json",
    )
    doc = json.loads(out)
    assert (doc["route"], doc["purpose"]) == ("assistant", "triage")
    assert doc["classification"]["declared_class"] == "restricted"
    assert doc["decision"] == {"outcome": "allow", "model": "local-model", "fallbacks": []}


def test_class_and_purpose_declared_in_the_request_metadata(
    app: typer.Typer, config_file: Path, tmp_path: Path
) -> None:
    request = tmp_path / "request.json"
    body = {
        "model": "assistant",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"zonegate_data_class": "confidential", "purpose": "triage"},
    }
    request.write_text(json.dumps(body))
    doc = json.loads(invoke(app, "-c", str(config_file), str(request), "--json")[1])
    assert doc["classification"]["declared_class"] == "confidential"
    assert doc["purpose"] == "triage"
    assert doc["decision"]["model"] == "local-model"
    # Options win over metadata, as the header does in the gateway.
    args = ("-c", str(config_file), str(request), "--data-class", "public", "--purpose", "x")
    doc = json.loads(invoke(app, *args, "--json")[1])
    assert (doc["classification"]["declared_class"], doc["purpose"]) == ("public", "x")


@pytest.mark.parametrize("metadata", [["data_class"], {"ticket": "T-1"}, {"data_class": 3}])
def test_metadata_without_a_class_declares_nothing(
    app: typer.Typer, config_file: Path, tmp_path: Path, metadata: object
) -> None:
    request = tmp_path / "request.json"
    body = {"model": "assistant", "messages": [], "metadata": metadata}
    request.write_text(json.dumps(body))
    doc = json.loads(invoke(app, "-c", str(config_file), str(request), "--json")[1])
    assert doc["classification"]["declared_class"] is None
    assert doc["purpose"] is None


def test_an_unknown_route_prints_no_candidate_table(app: typer.Typer, config_file: Path) -> None:
    code, out, _ = invoke(app, "-c", str(config_file), "-r", "nope", "-t", "hi")
    assert code == 0
    assert "candidates" not in out
    assert "deny unknown_route" in out


def test_a_request_on_stdin(app: typer.Typer, config_file: Path) -> None:
    body = json.dumps({"model": "assistant", "messages": [{"role": "user", "content": "hi"}]})
    code, out, _ = invoke(app, "-c", str(config_file), "-", "--json", input=body)
    assert code == 0
    assert json.loads(out)["decision"]["model"] == "vendor-model"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "either as a FILE"),
        (["-t", "hi", "request.json"], "either as a FILE"),
        (["-t", "hi"], "--route is required with --text"),
        (["-r", "assistant", "-t", "hi", "--data-class", "secret"], "unknown data class 'secret'"),
        (["-r", "assistant", "-t", "hi", "--team", "ghosts"], "team 'ghosts' is not defined"),
        (["missing.json"], "cannot read"),
    ],
)
def test_usage_errors(app: typer.Typer, config_file: Path, args: list[str], message: str) -> None:
    code, out, err = invoke(app, "-c", str(config_file), *args)
    assert code == 1
    assert message in err
    assert out == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON (line 1, column 2)"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"messages": []}', "has no 'model' string"),
        (b"\xff\xfe", "is not UTF-8"),
    ],
)
def test_bad_request_files(
    app: typer.Typer, config_file: Path, tmp_path: Path, content: str | bytes, message: str
) -> None:
    request = tmp_path / "request.json"
    if isinstance(content, bytes):
        request.write_bytes(content)
    else:
        request.write_text(content)
    code, _, err = invoke(app, "-c", str(config_file), str(request))
    assert code == 1
    assert message in err


def test_an_unknown_detector_in_the_config_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "zonegate.yaml"
    path.write_text(CONFIG + "detectors:\n  codenames: {data_class: internal}\n")
    code, _, err = invoke(app, "-c", str(path), "-r", "assistant", "-t", "hi")
    assert code == 2
    assert "detectors.codenames" in err
    assert "unknown detector 'codenames'" in err


def test_an_invalid_config_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "zonegate.yaml"
    path.write_text("zones: {}\nmodels: {}\nbogus: 1\n")
    code, _, err = invoke(app, "-c", str(path), "-r", "assistant", "-t", "hi")
    assert code == 2
    assert "bogus" in err
