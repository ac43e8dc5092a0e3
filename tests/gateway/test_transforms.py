"""Zones that take sensitive data only transformed: what the upstream receives, what the caller
gets back, streaming included."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.conftest import Gateway, make_gateway
from zonegate.config.load import LoadedConfig, load_config_text

CONFIG = """
zones:
  local: {operator: self, ceiling: restricted}
  vendor:
    operator: acme
    ceiling: internal
    transforms: {confidential: pseudonymise, restricted: redact}
models:
  local-model:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: l}
  vendor-model:
    zone: vendor
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: v}
routes:
  helpdesk: {candidates: [vendor-model, local-model]}
  vendor-only: {candidates: [vendor-model]}
teams:
  default: {routes: ["*"], models: ["*"]}
"""
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    loaded: LoadedConfig = load_config_text(CONFIG, source="transforms.yaml")
    async with make_gateway(tmp_path, loaded) as gateway:
        for fake in gateway.fakes.values():
            fake.echo = True
        yield gateway


def sent_text(gw: Gateway, model_id: str) -> str:
    [call] = gw.fakes[model_id].calls
    return call.model_dump_json()


async def test_pseudonymised_for_the_vendor_and_restored_for_the_caller(gw: Gateway) -> None:
    r = await gw.chat(f"Please reply to {EMAIL} today.", model="helpdesk")
    assert r.status_code == 200, r.text
    assert r.headers["x-zonegate-zone"] == "vendor"
    assert r.headers["x-zonegate-data-class"] == "confidential"
    upstream = sent_text(gw, "vendor-model")
    assert EMAIL not in upstream
    assert "<EMAIL_1>" in upstream
    assert r.json()["choices"][0]["message"]["content"] == f"Please reply to {EMAIL} today."
    [record] = gw.audit()
    assert record["guard_verdicts"]["transforms"] == {
        "model": "vendor-model",
        "plan": {"confidential": "pseudonymise"},
        "replaced": {"email": 1},
    }
    assert EMAIL not in json.dumps(record)


async def test_redacted_for_the_vendor(gw: Gateway) -> None:
    r = await gw.chat(f"Card {CARD} and mail {EMAIL}", model="helpdesk")
    assert r.headers["x-zonegate-zone"] == "vendor"
    upstream = sent_text(gw, "vendor-model")
    assert CARD not in upstream
    assert EMAIL not in upstream
    assert "[REDACTED_PAYMENT_CARD]" in upstream
    content = r.json()["choices"][0]["message"]["content"]
    assert content == f"Card [REDACTED_PAYMENT_CARD] and mail {EMAIL}"  # redaction is final


async def test_a_declared_class_is_never_transformed_away(gw: Gateway) -> None:
    r = await gw.chat(
        f"mail {EMAIL}", model="helpdesk", headers={"X-Zonegate-Data-Class": "confidential"}
    )
    assert r.headers["x-zonegate-zone"] == "local"
    assert gw.fakes["vendor-model"].calls == []
    assert EMAIL in sent_text(gw, "local-model")  # the local zone gets the data as it is


async def test_streamed_reply_is_restored_across_chunks(gw: Gateway) -> None:
    body = {
        "model": "helpdesk",
        "messages": [{"role": "user", "content": f"Write to {EMAIL} and {EMAIL}."}],
        "stream": True,
    }
    r = await gw.client.post("/v1/chat/completions", json=body, headers=gw.headers())
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(
        c["choices"][0]["delta"].get("content", "")
        for c in map(json.loads, events[:-1])
        if c["choices"]
    )
    assert text == f"Write to {EMAIL} and {EMAIL}."
    assert EMAIL not in sent_text(gw, "vendor-model")


async def test_untransformable_data_falls_back_or_is_denied(gw: Gateway) -> None:
    body = {
        "model": "helpdesk",
        "messages": [{"role": "user", "content": "hello"}],
        "metadata": {EMAIL: "x"},  # a value in a key: no placeholder can stand there
    }
    r = await gw.client.post("/v1/chat/completions", json=body, headers=gw.headers())
    assert r.headers["x-zonegate-zone"] == "local"
    assert gw.fakes["vendor-model"].calls == []
    body["model"] = "vendor-only"
    r = await gw.client.post("/v1/chat/completions", json=body, headers=gw.headers())
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "untransformable_data"
    assert EMAIL not in r.text
    assert gw.fakes["vendor-model"].calls == []


async def test_a_stream_without_finish_reason_still_releases_its_tail(gw: Gateway) -> None:
    gw.fakes["vendor-model"].finish = False  # ends with [DONE] only, as some servers do
    text = f"Reply to {EMAIL}"
    body = {"model": "helpdesk", "messages": [{"role": "user", "content": text}], "stream": True}
    r = await gw.client.post("/v1/chat/completions", json=body, headers=gw.headers())
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    streamed = "".join(
        c["choices"][0]["delta"].get("content", "")
        for c in map(json.loads, events[:-1])
        if c["choices"]
    )
    assert streamed == text
