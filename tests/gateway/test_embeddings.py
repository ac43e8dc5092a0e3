"""POST /v1/embeddings: classified, routed by policy and audited like chat."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.gateway.conftest import Gateway
from zonegate.providers.base import Capabilities

CARD = "4111 1111 1111 1111"


async def embed(gw: Gateway, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await gw.client.post("/v1/embeddings", json=body, headers=gw.headers(**headers))


async def test_embeddings_are_served_and_audited(gateway: Gateway) -> None:
    r = await embed(gateway, {"model": "assistant", "input": ["hello", "good morning"]})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert body["data"][1]["embedding"] == [12.0, 1.0]
    assert body["model"] == "vendor-model-served"
    assert r.headers["x-zonegate-model"] == "vendor-model"
    [record] = gateway.audit()
    assert record["endpoint"] == "embeddings"
    assert record["decision"] == "allow"
    assert record["prompt_tokens"] == 7
    assert record["params"] == {"inputs": 2, "encoding_format": "float"}


async def test_a_restricted_document_is_embedded_only_where_it_may_go(gateway: Gateway) -> None:
    r = await embed(gateway, {"model": "assistant", "input": f"invoice paid with {CARD}"})
    assert r.status_code == 200
    assert r.headers["x-zonegate-zone"] == "local"
    assert gateway.fakes["vendor-model"].calls == []
    [record] = gateway.audit()
    assert record["findings"] == {"payment_card": 1}
    assert CARD not in json.dumps(record)

    r = await embed(gateway, {"model": "vendor-only", "input": [f"card {CARD}"]})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "data_class_exceeds_zones"
    assert gateway.fakes["vendor-model"].calls == []


async def test_token_arrays_are_refused_because_they_cannot_be_scanned(gateway: Gateway) -> None:
    r = await embed(gateway, {"model": "assistant", "input": [[101, 2023, 102]]})
    assert r.status_code == 400
    error = r.json()["error"]
    assert "token-id arrays cannot be scanned" in error["message"]
    assert error["param"] == "input"
    assert all(f.calls == [] for f in gateway.fakes.values())


async def test_bad_embeddings_requests_get_clear_errors(gateway: Gateway) -> None:
    r = await embed(gateway, {"model": "assistant", "input": ""})
    assert r.status_code == 400
    assert "input is empty" in r.json()["error"]["message"]
    r = await embed(gateway, {"input": "x"})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "model"
    r = await embed(gateway, {"model": "no-such-route", "input": "x"})
    assert r.status_code == 404
    assert len(gateway.audit()) == 3


async def test_a_model_without_embeddings_is_passed_over(gateway: Gateway) -> None:
    gateway.fakes["vendor-model"].capabilities = Capabilities()
    r = await embed(gateway, {"model": "assistant", "input": "hello"})
    assert r.status_code == 200
    assert r.headers["x-zonegate-model"] == "local-model"
    gateway.fakes["local-model"].capabilities = Capabilities()
    r = await embed(gateway, {"model": "assistant", "input": "hello"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "embeddings_unsupported"
