"""POST /v1/messages: Anthropic's API in front of the same pipeline (policy, detection, audit)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from tests.gateway.conftest import Gateway
from zonegate.errors import UpstreamError

CARD = "4111 1111 1111 1111"
EVENTS: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)


async def messages(gw: Gateway, text: str, key: str | None = None, **params: Any) -> httpx.Response:
    body = {
        "model": "assistant",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        **params,
    }
    headers = {"x-api-key": key or gw.key, "anthropic-version": "2023-06-01"}
    return await gw.client.post("/v1/messages", json=body, headers=headers)


def events_of(response: httpx.Response) -> list[dict[str, Any]]:
    out = []
    for frame in response.text.split("\n\n"):
        data = [line[6:] for line in frame.splitlines() if line.startswith("data: ")]
        if data:
            out.append(json.loads(data[0]))
    return out


async def test_a_message_is_answered_in_anthropics_shape_and_audited(gateway: Gateway) -> None:
    r = await messages(gateway, "hello", system="Be brief.")
    assert r.status_code == 200
    message = Message.model_validate(r.json())
    assert message.role == "assistant"
    assert message.model == "assistant"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "fake reply"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 5)
    [sent] = gateway.fakes["vendor-model"].calls
    assert [m.role for m in sent.messages] == ["system", "user"]
    [record] = gateway.audit()
    assert record["endpoint"] == "messages"
    assert record["model_id"] == "vendor-model"


async def test_a_stream_is_the_messages_event_sequence(gateway: Gateway) -> None:
    r = await messages(gateway, "hello", stream=True)
    assert r.status_code == 200
    events = events_of(r)
    for event in events:
        EVENTS.validate_python(event)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "fakereply"  # the fake streams the words without spaces
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    assert events[-2]["usage"]["output_tokens"] == 3
    [record] = gateway.audit()
    assert record["status"] == 200
    assert record["stream"] is True


async def test_restricted_data_stays_local_whatever_the_api(gateway: Gateway) -> None:
    r = await messages(gateway, f"my card is {CARD}")
    assert r.status_code == 200
    assert r.headers["x-zonegate-zone"] == "local"
    assert gateway.fakes["vendor-model"].calls == []
    r = await messages(gateway, f"my card is {CARD}", model="vendor-only")
    assert r.status_code == 403
    assert r.json() == {
        "type": "error",
        "error": {"type": "permission_error", "message": r.json()["error"]["message"]},
    }
    assert "restricted" in r.json()["error"]["message"]
    assert gateway.fakes["vendor-model"].calls == []


async def test_errors_take_anthropics_shape(gateway: Gateway) -> None:
    r = await messages(gateway, "hi", key="zg-not-a-key")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"
    r = await messages(gateway, "hi", model="no-such-route")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found_error"
    r = await gateway.client.post(
        "/v1/messages",
        json={"model": "assistant", "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": gateway.key},
    )
    assert r.status_code == 400
    assert r.json()["type"] == "error"
    assert "max_tokens" in r.json()["error"]["message"]
    assert len(gateway.audit()) == 3


async def test_an_upstream_failing_mid_stream_ends_with_an_error_event(gateway: Gateway) -> None:
    vendor, local = gateway.fakes["vendor-model"], gateway.fakes["local-model"]
    failure = UpstreamError("the upstream broke off", code="upstream_connection_error")
    vendor.fail_with = local.fail_with = failure
    r = await messages(gateway, "hello", stream=True)
    assert r.status_code == 502
    assert r.json()["error"]["type"] == "api_error"
    [record] = gateway.audit()
    assert record["error_class"] == "upstream_connection_error"
