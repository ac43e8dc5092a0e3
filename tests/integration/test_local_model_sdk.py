"""The official openai SDK against a real gateway process serving the embedded SmolLM2 model."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.integration.gateway_process import GatewayProcess, run_gateway, zonegate

pytestmark = [pytest.mark.integration, pytest.mark.model]


@pytest.fixture(scope="module")
def local_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("local")
    with run_gateway(tmp) as gw:
        yield gw


def client_for(gw: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.base_url}/v1", api_key=gw.key, max_retries=0)


def test_first_start_printed_an_admin_key(local_gateway: GatewayProcess) -> None:
    assert "admin API key" in local_gateway.log_text()
    keys = json.loads(
        zonegate("keys", "list", "--json", "--data-dir", str(local_gateway.data_dir)).stdout
    )
    assert {k["role"] for k in keys} == {"admin", "user"}


def test_non_streaming_answer_with_usage(local_gateway: GatewayProcess) -> None:
    raw = client_for(local_gateway).chat.completions.with_raw_response.create(
        model="default",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
        max_tokens=24,
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= 24
    assert raw.headers["x-zonegate-zone"] == "local"
    assert raw.headers["x-zonegate-model"] == "smollm2-135m"


def test_streaming_answer_with_usage(local_gateway: GatewayProcess) -> None:
    stream = client_for(local_gateway).chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Name three colours."}],
        temperature=0,
        max_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage is not None:
            usage = chunk.usage
    assert text.strip()
    assert finish in {"stop", "length"}
    assert usage is not None
    assert usage.completion_tokens > 0


def test_models_endpoint_via_sdk(local_gateway: GatewayProcess) -> None:
    ids = {m.id for m in client_for(local_gateway).models.list()}
    assert ids == {"default", "smollm2-135m"}


def test_client_disconnect_cancels_generation(
    local_gateway: GatewayProcess, tmp_path: Path
) -> None:
    body = {
        "model": "default",
        "messages": [{"role": "user", "content": "Write a very long story about the sea."}],
        "max_tokens": 1500,
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {local_gateway.key}"}
    with httpx.Client(base_url=local_gateway.base_url, timeout=60) as http:
        with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            request_id = r.headers["x-zonegate-request-id"]
            for line in r.iter_lines():
                if line.startswith("data: "):
                    break  # one chunk, then hang up
        # The single generation slot is free again: the next request is served.
        after = client_for(local_gateway).chat.completions.create(
            model="default", messages=[{"role": "user", "content": "Hi"}], max_tokens=4
        )
        assert after.choices[0].message.content is not None
    cut = wait_for_record(local_gateway, request_id)
    assert cut["status"] == 499
    assert cut["error_class"] == "client_disconnected"


def wait_for_record(gw: GatewayProcess, request_id: str) -> dict[str, object]:
    """The audit record of ``request_id``; a disconnect is recorded just after it happens."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in exported(gw) if r["request_id"] == request_id]
        if found or time.monotonic() > deadline:
            assert found, f"no audit record for {request_id}"
            return found[0]
        time.sleep(0.2)


def exported(gw: GatewayProcess) -> list[dict[str, object]]:
    out = zonegate(
        "audit", "export", "--since", "1d", "--format", "jsonl", "--data-dir", str(gw.data_dir)
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
