"""llama.cpp's own OpenAI-compatible server as a real second process: the self-hosted upstream
(what vLLM, Ollama or TGI would be in production), reached through ``openai_compat``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.integration.gateway_process import GatewayProcess, run_gateway
from tests.support.processes import RunningProcess, start_module
from zonegate.providers.digest import resolve_model_path

pytestmark = [pytest.mark.integration, pytest.mark.model]

CARD = "4111 1111 1111 1111"
CONFIG = """
zones:
  onprem: {{operator: self, ceiling: restricted}}
models:
  smollm2-server:
    zone: onprem
    provider: {{type: openai_compat, base_url: "{base}", model: smollm2}}
    health_check: {{interval_seconds: 0.3, timeout_seconds: 30, unhealthy_after: 1}}
routes:
  assistant: {{candidates: [smollm2-server]}}
teams:
  default: {{routes: ["*"]}}
"""


def start_server(tmp: Path) -> Iterator[RunningProcess]:
    weights = resolve_model_path("builtin:smollm2")
    return start_module(  # type: ignore[return-value]
        "llama_cpp.server",
        "--model", str(weights), "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", "{port}",
        "--n_ctx", "1024", "--n_threads", "2", "--seed", "0",
        # Otherwise any request waiting for the model (a health check included) cuts the
        # stream in progress short; docs/providers.md says the same to operators.
        "--interrupt_requests", "false",
        log_dir=tmp,
        ready_path="/v1/models",
        timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("llama-server")
    with start_server(tmp) as server:  # type: ignore[attr-defined]
        config = tmp / "zonegate.yaml"
        config.write_text(CONFIG.format(base=f"{server.url}/v1"))
        with run_gateway(tmp, config=config) as gw:
            gw.server = server  # type: ignore[attr-defined]
            yield gw


def client(gw: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.base_url}/v1", api_key=gw.key, max_retries=0)


def test_non_streaming_through_the_gateway(gateway: GatewayProcess) -> None:
    with client(gateway) as c:
        raw = c.chat.completions.with_raw_response.create(
            model="assistant",
            messages=[{"role": "user", "content": f"My card is {CARD}. Say hello."}],
            max_tokens=16,
            temperature=0,
        )
    reply = raw.parse()
    assert raw.headers["x-zonegate-zone"] == "onprem"  # restricted data may go: it is ours
    assert raw.headers["x-zonegate-data-class"] == "restricted"
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.completion_tokens > 0


def test_streaming_through_the_gateway(gateway: GatewayProcess) -> None:
    with client(gateway) as c:
        stream = c.chat.completions.create(
            model="assistant",
            messages=[{"role": "user", "content": "Count to five."}],
            max_tokens=16,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices]
    assert text.strip()
    assert finishes[-1] in ("stop", "length")
    # llama.cpp's server sends no usage on streams (documented in docs/providers.md); the
    # gateway passes on what it gets rather than inventing token counts.
    assert all(ch.usage is None for ch in chunks)


def test_the_server_is_health_checked(gateway: GatewayProcess) -> None:
    deadline = time.monotonic() + 10
    while True:
        state = httpx.get(f"{gateway.base_url}/readyz", timeout=5).json()["models"]
        check = state["smollm2-server"].get("health_check")
        if check is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert check is not None
    assert check["error"] is None
    assert state["smollm2-server"]["status"] == "ok"


def test_a_server_that_goes_away_is_marked_down_and_refused_cleanly(
    gateway: GatewayProcess,
) -> None:
    gateway.server.kill()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = httpx.get(f"{gateway.base_url}/readyz", timeout=5).json()["models"]
        if state["smollm2-server"]["status"] == "down":
            break
        time.sleep(0.1)
    assert state["smollm2-server"]["status"] == "down"
    r = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": "assistant", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {gateway.key}"},
        timeout=30,
    )
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "no_healthy_model"
    assert json.loads(r.text)["error"]["message"]
