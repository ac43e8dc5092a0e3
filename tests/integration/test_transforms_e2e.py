"""Each transform through real processes: a gateway and an OpenAI-compatible upstream that
records what it received. No raw value ever reaches a zone whose ceiling is below its class."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway_process import GatewayProcess, run_gateway
from tests.support.processes import Upstream, start_upstream

pytestmark = [pytest.mark.integration, pytest.mark.model]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pseudonymise.yaml"
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
AWS = "AKIAIOSFODNN7EXAMPLQ"
SECRET_TEXT = f"Mail {EMAIL} about card {CARD}; the key is {AWS}."
VALUES = (EMAIL, CARD, AWS)

REDACTING = """
zones:
  local: {{operator: self, ceiling: restricted}}
  redacting:
    operator: acme
    ceiling: internal
    transforms: {{confidential: redact, restricted: redact}}
  plain: {{operator: acme, ceiling: internal}}
models:
  local-model:
    zone: local
    provider: {{type: llamacpp, model_path: "builtin:smollm2"}}
  redact-chat:
    zone: redacting
    provider: {{type: openai_compat, base_url: "{base_url}", model: echo, api_key: env:UP_KEY}}
  plain-chat:
    zone: plain
    provider: {{type: openai_compat, base_url: "{base_url}", model: echo, api_key: env:UP_KEY}}
routes:
  redacted: {{candidates: [redact-chat]}}
  plain-only: {{candidates: [plain-chat]}}
  plain-then-local: {{candidates: [plain-chat, local-model]}}
teams:
  default: {{routes: ["*"]}}
"""


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with start_upstream(tmp_path_factory.mktemp("up")) as up:
        yield up


@pytest.fixture(scope="module")
def pseudonymising(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> Iterator[GatewayProcess]:
    env = {"VENDOR_BASE_URL": upstream.base_url, "VENDOR_API_KEY": "k", "VENDOR_MODEL": "echo"}
    with run_gateway(tmp_path_factory.mktemp("pseudo"), config=EXAMPLE, env=env) as gw:
        yield gw


@pytest.fixture(scope="module")
def redacting(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("redact")
    config = tmp / "zonegate.yaml"
    config.write_text(REDACTING.format(base_url=upstream.base_url))
    with run_gateway(tmp, config=config, env={"UP_KEY": "k"}) as gw:
        yield gw


def post(gw: GatewayProcess, route: str, *, stream: bool = False) -> httpx.Response:
    body = {
        "model": route,
        "messages": [{"role": "user", "content": SECRET_TEXT}],
        "stream": stream,
    }
    return httpx.post(
        f"{gw.base_url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {gw.key}"},
        timeout=60,
    )


def streamed_text(response: httpx.Response) -> str:
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]", events[-3:]
    chunks = [json.loads(e) for e in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def received_since(upstream: Upstream, before: int) -> str:
    return json.dumps(upstream.received()[before:])


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_pseudonymise_and_restore(
    pseudonymising: GatewayProcess, upstream: Upstream, stream: bool
) -> None:
    before = len(upstream.received())
    r = post(pseudonymising, "assistant", stream=stream)
    assert r.status_code == 200, r.text
    assert r.headers["x-zonegate-zone"] == "vendor"
    sent = received_since(upstream, before)
    assert all(value not in sent for value in VALUES)
    assert "<EMAIL_1>" in sent
    assert "<PAYMENT_CARD_1>" in sent
    reply = streamed_text(r) if stream else r.json()["choices"][0]["message"]["content"]
    assert reply == SECRET_TEXT  # the echo, with every placeholder restored


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_redact(redacting: GatewayProcess, upstream: Upstream, stream: bool) -> None:
    before = len(upstream.received())
    r = post(redacting, "redacted", stream=stream)
    assert r.status_code == 200, r.text
    sent = received_since(upstream, before)
    assert all(value not in sent for value in VALUES)
    assert "[REDACTED_EMAIL]" in sent
    reply = streamed_text(r) if stream else r.json()["choices"][0]["message"]["content"]
    assert all(value not in reply for value in VALUES)  # redaction is final


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_deny(redacting: GatewayProcess, upstream: Upstream, stream: bool) -> None:
    before = len(upstream.received())
    r = post(redacting, "plain-only", stream=stream)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "data_class_exceeds_zones"
    assert upstream.received()[before:] == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_route_to_local(redacting: GatewayProcess, upstream: Upstream, stream: bool) -> None:
    before = len(upstream.received())
    r = post(redacting, "plain-then-local", stream=stream)
    assert r.status_code == 200, r.text
    assert r.headers["x-zonegate-zone"] == "local"
    assert upstream.received()[before:] == []
    reply = streamed_text(r) if stream else r.json()["choices"][0]["message"]["content"]
    assert reply  # the local SmolLM2 answered
