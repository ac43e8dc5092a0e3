"""examples/hybrid.yaml with a real vendor upstream process: restricted data never reaches it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway_process import GatewayProcess, run_gateway, zonegate
from tests.support.processes import Upstream, start_upstream

pytestmark = [pytest.mark.integration, pytest.mark.model]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hybrid.yaml"
CARD = "4111 1111 1111 1111"


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with start_upstream(tmp_path_factory.mktemp("vendor")) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory, vendor: Upstream) -> Iterator[GatewayProcess]:
    env = {
        "VENDOR_BASE_URL": vendor.base_url,
        "VENDOR_API_KEY": "vendor-test-key",
        "VENDOR_MODEL": "gpt-4o-mini-2024-07-18",
    }
    with run_gateway(tmp_path_factory.mktemp("hybrid"), config=EXAMPLE, env=env) as gw:
        yield gw


def chat(gw: GatewayProcess, content: str, model: str = "assistant") -> httpx.Response:
    return httpx.post(
        f"{gw.base_url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 16},
        headers={"Authorization": f"Bearer {gw.key}"},
        timeout=60,
    )


def audit_record(gw: GatewayProcess, request_id: str) -> dict[str, object]:
    out = zonegate(
        "audit",
        "export",
        "--since",
        "1d",
        "--format",
        "jsonl",
        "--config",
        str(EXAMPLE),
        "--data-dir",
        str(gw.data_dir),
        env={"VENDOR_API_KEY": "x"},
    ).stdout
    [record] = [r for r in map(json.loads, out.splitlines()) if r["request_id"] == request_id]
    return record


def test_example_config_passes_check() -> None:
    result = zonegate("config", "check", str(EXAMPLE), check=False)
    assert result.returncode == 0, result.stderr


def test_clean_request_goes_to_the_vendor(hybrid: GatewayProcess, vendor: Upstream) -> None:
    before = len(vendor.received())
    r = chat(hybrid, "Summarise: the meeting moved to Tuesday.")
    assert r.status_code == 200, r.text
    assert r.headers["x-zonegate-zone"] == "vendor"
    received = vendor.received()[before:]
    assert len(received) == 1
    assert received[0]["body"]["model"] == "gpt-4o-mini-2024-07-18"


def test_card_number_is_served_locally_and_never_sent(
    hybrid: GatewayProcess, vendor: Upstream
) -> None:
    before = len(vendor.received())
    r = chat(hybrid, f"Refund the order paid with card {CARD}.")
    assert r.status_code == 200, r.text
    assert r.headers["x-zonegate-zone"] == "local"
    assert r.json()["choices"][0]["message"]["content"]  # SmolLM2 really answered
    assert vendor.received()[before:] == []
    record = audit_record(hybrid, r.headers["x-zonegate-request-id"])
    assert record["effective_class"] == "restricted"
    assert record["findings"] == {"payment_card": 1}
    assert record["zone"] == "local"
    assert record["decision"] == "allow"
    assert CARD not in json.dumps(record)


def test_card_number_to_vendor_only_target_is_denied(
    hybrid: GatewayProcess, vendor: Upstream
) -> None:
    before = len(vendor.received())
    r = chat(hybrid, f"Card {CARD}", model="vendor-chat")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "data_class_exceeds_zones"
    assert vendor.received()[before:] == []
    record = audit_record(hybrid, r.headers["x-zonegate-request-id"])
    assert record["decision"] == "deny"
    assert record["reason_code"] == "data_class_exceeds_zones"
    assert record["findings"] == {"payment_card": 1}


def test_audit_log_verifies(hybrid: GatewayProcess) -> None:
    result = zonegate(
        "audit",
        "verify",
        "--data-dir",
        str(hybrid.data_dir),
        "--config",
        str(EXAMPLE),
        env={"VENDOR_API_KEY": "x"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
