"""The Anthropic provider against a real Anthropic-shaped upstream process: what Anthropic's API
would receive (body, key and version headers, sampling), how its answers read back (text, tools,
JSON, usage, finish reasons), and how each failure maps onto the gateway's errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import ValidationError

from tests.providers.conftest import UPSTREAM_KEY, anthropic_config, compat_config, resolve_secret
from tests.providers.vendor_support import (
    StartedProviders,
    chat,
    check_close_disconnects,
    check_lifecycle,
    check_malformed_header_refused,
    check_missing_credential_refused,
    check_read_timeout,
    check_reset_before_answer,
    check_reset_midway,
    check_small_pool,
    check_status_error,
    check_too_large_refused,
    check_total_deadline_midway,
    check_unreachable,
    collect,
    drain,
    finishes_of,
    marker,
    own_burst_count,
    serve,
    text_of,
)
from tests.support.processes import Upstream, free_port
from zonegate.config.schema import AnthropicProviderConfig, Timeouts
from zonegate.errors import InvalidRequest, UpstreamError
from zonegate.providers.anthropic_messages import AnthropicProvider
from zonegate.providers.base import HealthCheckable, Provider, ProviderStartError
from zonegate.providers.registry import ProviderRegistry
from zonegate.wire.anthropic_outbound import ANTHROPIC_VERSION, JSON_OBJECT_INSTRUCTION
from zonegate.wire.openai_chat import ChatCompletionChunk

pytestmark = pytest.mark.asyncio(loop_scope="session")

Factory = StartedProviders[AnthropicProvider]
MODEL = "claude-sonnet-4-5-20250929"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": ["integer", "null"]},
            },
            "required": ["city"],
        },
    },
}


@pytest_asyncio.fixture(loop_scope="session")
async def make(upstream: Upstream) -> AsyncIterator[Factory]:
    """Build and start providers against the upstream (or another URL); closed afterwards."""

    def build(base_url: str, model: str, settings: dict[str, Any]) -> AnthropicProvider:
        config = anthropic_config(base_url, model, **settings)
        return AnthropicProvider("anthropic-test", config, resolve_secret)

    providers = StartedProviders(build, upstream.base_url, MODEL)
    yield providers
    await providers.aclose()


def received_with(upstream: Upstream, text: str) -> dict[str, Any]:
    [record] = [
        r
        for r in upstream.received()
        if r["path"] == "/v1/messages" and text in json.dumps((r["body"] or {}).get("messages"))
    ]
    return record


def user_turn(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


# -- what Anthropic's API receives ----------------------------------------------------------------


async def test_upstream_receives_the_request_with_the_pinned_model_key_and_version(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make(headers={"X-Tenant": "env:ZG_TEST_TENANT", "X-Team": "search"})
    text = marker()
    request = chat(
        text,
        max_tokens=3,
        stop=["\n"],
        seed=7,
        metadata={"data_class": "internal"},
        user="someone",
    )
    response = await provider.complete(request)

    sent = received_with(upstream, text)
    assert sent["method"] == "POST"
    assert sent["path"] == "/v1/messages"
    assert sent["body"] == {
        "model": MODEL,
        "max_tokens": 3,
        "messages": [user_turn(text)],
        "stop_sequences": ["\n"],
        "metadata": {"user_id": "someone"},  # zonegate's own metadata is not sent
    }
    headers = sent["headers"]
    key_sent = headers.get("x-api-key") == UPSTREAM_KEY
    assert key_sent, "x-api-key is not the resolved api_key reference"  # the key is not printed
    assert "authorization" not in headers
    assert headers["anthropic-version"] == ANTHROPIC_VERSION
    assert headers["x-tenant"] == "tenant-42"
    assert headers["x-team"] == "search"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("zonegate/")

    assert response.model == f"upstream-{MODEL}"  # the model Anthropic names
    assert response.id.startswith("msg_up")  # Anthropic's message id
    assert response.choices[0].message.content == "Hello from the"
    assert response.choices[0].finish_reason == "length"


async def test_the_configured_api_version_and_beta_headers_are_sent(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make(api_version="2023-06-01", headers={"anthropic-beta": "files-2025"})
    text = marker()
    await provider.complete(chat(text))
    headers = received_with(upstream, text)["headers"]
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["anthropic-beta"] == "files-2025"


async def test_default_max_tokens_applies_only_without_a_limit(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make(default_max_tokens=2)
    unlimited, limited = marker(), marker()
    response = await provider.complete(chat(unlimited))
    await provider.complete(chat(limited, max_completion_tokens=9))

    assert received_with(upstream, unlimited)["body"]["max_tokens"] == 2
    assert received_with(upstream, limited)["body"]["max_tokens"] == 9
    assert response.choices[0].finish_reason == "length"


async def test_stream_asks_for_server_sent_events(upstream: Upstream, make: Factory) -> None:
    provider = await make()
    text = marker()
    await collect(provider.stream(chat(text)))

    sent = received_with(upstream, text)
    assert sent["path"] == "/v1/messages"
    assert sent["body"]["stream"] is True
    key_sent = sent["headers"].get("x-api-key") == UPSTREAM_KEY
    assert key_sent, "x-api-key is not the resolved api_key reference"


async def test_system_and_multi_turn_conversation(upstream: Upstream, make: Factory) -> None:
    provider = await make()
    text = marker()
    messages = [
        {"role": "system", "content": "You answer questions about baking."},
        {"role": "user", "content": "What is sourdough?"},
        {"role": "assistant", "content": "Bread leavened with a fermented starter."},
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": text},
    ]
    multi = await provider.complete(chat(messages=messages))
    body = received_with(upstream, text)["body"]
    single = await provider.complete(chat("And what about bread?"))

    assert body["system"] == [
        {"type": "text", "text": "You answer questions about baking."},
        {"type": "text", "text": "Be brief."},
    ]
    assert body["messages"] == [
        user_turn("What is sourdough?"),
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Bread leavened with a fermented starter."}],
        },
        user_turn(text),
    ]
    assert multi.usage is not None
    assert single.usage is not None
    assert multi.usage.prompt_tokens > single.usage.prompt_tokens
    assert multi.choices[0].message.content == "Hello from the upstream."


async def test_echoes_content_both_ways(make: Factory) -> None:
    provider = await make(model="echo")
    text = "the quick brown fox"
    response = await provider.complete(chat(text))
    assert response.choices[0].message.content == text
    assert text_of(await collect(provider.stream(chat(text)))) == text


# -- sampling ---------------------------------------------------------------------------------


async def test_sampling_is_dropped_by_default(upstream: Upstream, make: Factory) -> None:
    provider = await make()
    text = marker()
    response = await provider.complete(chat(text, temperature=1.7, top_p=0.9, top_k=5))

    body = received_with(upstream, text)["body"]
    assert not {"temperature", "top_p", "top_k"} & body.keys()
    assert response.choices[0].message.content  # served, not refused


async def test_sampling_is_forwarded_when_configured(upstream: Upstream, make: Factory) -> None:
    provider = await make(sampling="forward")
    text = marker()
    await collect(provider.stream(chat(text, temperature=0.5, top_p=0.9, top_k=5)))

    body = received_with(upstream, text)["body"]
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.5, 0.9, 5)


async def test_forwarded_temperature_above_one_is_refused_before_sending(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make(sampling="forward")
    text = marker()
    with pytest.raises(InvalidRequest, match="above 1") as caught:
        await provider.complete(chat(text, temperature=1.5))
    assert caught.value.param == "temperature"
    assert not [r for r in upstream.received() if text in json.dumps(r["body"])]


# -- answers: text, streams, usage, finish reasons ------------------------------------------------


async def test_complete_reads_text_usage_and_stop(make: Factory) -> None:
    provider = await make()
    response = await provider.complete(chat("one two three"))

    [choice] = response.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello from the upstream."
    assert choice.finish_reason == "stop"
    assert response.usage is not None
    # the upstream counts words: 3 in the prompt, one more per turn; 4 in the answer
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (4, 4)
    assert response.usage.total_tokens == 8


async def test_stream_sends_role_text_finish_then_usage(make: Factory) -> None:
    provider = await make()
    request = chat("one two three")
    chunks = await collect(provider.stream(request))
    complete = await provider.complete(request)

    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([c for c in chunks if text_of([c])]) == 4  # one event per word
    assert text_of(chunks) == complete.choices[0].message.content
    assert finishes_of(chunks) == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage == complete.usage
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert {chunk.model for chunk in chunks} == {f"upstream-{MODEL}"}
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].id.startswith("msg_up")


async def test_token_limit_finishes_with_length_both_ways(make: Factory) -> None:
    provider = await make()
    response = await provider.complete(chat(max_completion_tokens=2))
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None
    assert response.usage.completion_tokens == 2

    chunks = await collect(provider.stream(chat(max_tokens=1)))
    assert finishes_of(chunks) == ["length"]
    assert text_of(chunks) == "Hello"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 1


# -- tools ----------------------------------------------------------------------------------------


async def test_tools_are_declared_in_anthropic_form(upstream: Upstream, make: Factory) -> None:
    provider = await make()
    text = marker()
    choice = {"type": "function", "function": {"name": "get_weather"}}
    await provider.complete(chat(text, tools=[WEATHER_TOOL], tool_choice=choice))

    body = received_with(upstream, text)["body"]
    function = WEATHER_TOOL["function"]
    assert isinstance(function, dict)
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "input_schema": function["parameters"],
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}


async def test_tool_use_becomes_a_tool_call(make: Factory) -> None:
    provider = await make(model="tool")
    response = await provider.complete(chat("Weather in Paris?", tools=[WEATHER_TOOL]))

    [choice] = response.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.id.startswith("toolu_up")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "example", "unit": "celsius", "days": 1}


async def test_streamed_tool_use_becomes_tool_call_deltas(make: Factory) -> None:
    provider = await make(model="tool")
    chunks = await collect(provider.stream(chat("Weather in Paris?", tools=[WEATHER_TOOL])))

    deltas = [d for chunk in chunks for c in chunk.choices for d in c.delta.tool_calls or []]
    first, *pieces = deltas
    assert first["index"] == 0
    assert first["id"].startswith("toolu_up")
    assert first["function"]["name"] == "get_weather"
    assert len(pieces) > 1  # the arguments arrive in fragments
    assert {d["index"] for d in pieces} == {0}
    arguments = "".join(d["function"]["arguments"] for d in deltas)
    assert json.loads(arguments) == {"city": "example", "unit": "celsius", "days": 1}
    assert finishes_of(chunks) == ["tool_calls"]
    assert text_of(chunks) == ""
    assert chunks[-1].usage is not None


async def test_tool_results_go_back_as_tool_result_blocks(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make()
    text = marker()
    first = await (await make(model="tool")).complete(chat(text, tools=[WEATHER_TOOL]))
    [call] = first.choices[0].message.tool_calls or []
    messages = [
        {"role": "user", "content": text},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21}'},
    ]
    response = await provider.complete(chat(messages=messages, tools=[WEATHER_TOOL]))

    [_, record] = [
        r for r in upstream.received() if text in json.dumps((r["body"] or {}).get("messages"))
    ]
    turns = record["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"] == [
        {
            "type": "tool_use",
            "id": call.id,
            "name": "get_weather",
            "input": json.loads(call.function.arguments),
        }
    ]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": call.id, "content": '{"temperature": 21}'}
    ]
    assert response.choices[0].finish_reason == "stop"


# -- JSON mode ------------------------------------------------------------------------------------


async def test_json_object_is_asked_for_in_the_system_prompt(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make(model="echo")
    label = marker()
    text = json.dumps({"marker": label, "ok": True})
    response = await provider.complete(chat(text, response_format={"type": "json_object"}))

    body = received_with(upstream, label)["body"]
    assert body["system"] == [{"type": "text", "text": JSON_OBJECT_INSTRUCTION}]
    assert json.loads(response.choices[0].message.content or "") == json.loads(text)


async def test_json_schema_becomes_structured_output(upstream: Upstream, make: Factory) -> None:
    provider = await make()
    text = marker()
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "cat", "schema": schema}}
    await collect(provider.stream(chat(text, response_format=response_format)))

    body = received_with(upstream, text)["body"]
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "system" not in body


async def test_what_anthropic_cannot_take_is_refused_before_sending(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make()
    text = marker()
    with pytest.raises(InvalidRequest) as caught:
        await provider.complete(chat(text, logprobs=True))
    assert caught.value.param == "logprobs"
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    parts = [{"type": "text", "text": text}, audio]
    stream = provider.stream(chat(messages=[{"role": "user", "content": parts}]))
    with pytest.raises(InvalidRequest) as caught_stream:
        await anext(stream)
    assert caught_stream.value.param == "messages[0].content[1]"
    await stream.aclose()
    assert not [r for r in upstream.received() if text in json.dumps(r["body"])]


# -- failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (401, "upstream_auth_failed", False),
        (403, "upstream_auth_failed", False),
        (404, "upstream_not_found", False),
        (409, "upstream_error", False),
        (429, "upstream_rate_limited", True),
        (500, "upstream_server_error", False),
        (502, "upstream_unavailable", True),
        (503, "upstream_unavailable", True),
        (504, "upstream_unavailable", True),
        (529, "upstream_unavailable", True),
    ],
)
async def test_upstream_failures_are_upstream_errors(
    make: Factory, status: int, code: str, retryable: bool
) -> None:
    await check_status_error(await make(model=f"status-{status}"), status, code, retryable)


async def test_a_burst_of_overload_passes_with_the_upstreams_wait(make: Factory) -> None:
    provider = await make(model="burst-529-2-retry-3", headers=own_burst_count())
    for _ in range(2):
        with pytest.raises(UpstreamError, match="overloaded") as caught:
            await provider.complete(chat())
        assert caught.value.code == "upstream_unavailable"
        assert caught.value.retryable is True
        assert caught.value.retry_after == 3.0
    response = await provider.complete(chat())
    assert response.choices[0].message.content == "Hello from the upstream."


async def test_a_burst_of_rate_limits_in_a_stream(make: Factory) -> None:
    provider = await make(model="burst-429-1", headers=own_burst_count())
    with pytest.raises(UpstreamError) as caught:
        await collect(provider.stream(chat()))
    assert caught.value.code == "upstream_rate_limited"
    assert caught.value.retryable is True
    assert caught.value.retry_after == 1.0
    assert finishes_of(await collect(provider.stream(chat()))) == ["stop"]


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid_request_error"), (413, "request_too_large"), (422, "invalid_request_error")],
)
async def test_requests_anthropic_refuses_are_invalid_requests_with_its_message(
    make: Factory, status: int, kind: str
) -> None:
    provider = await make(model=f"status-{status}")
    with pytest.raises(InvalidRequest) as caught:
        await provider.complete(chat())
    assert caught.value.status == 400
    assert caught.value.code == "upstream_rejected_request"
    assert caught.value.message.endswith(
        f"rejected the request (HTTP {status}): simulated upstream failure (HTTP {status}) ({kind})"
    )
    stream = provider.stream(chat())
    with pytest.raises(InvalidRequest, match=kind):
        await anext(stream)
    await stream.aclose()


async def test_malformed_answers_are_upstream_errors(make: Factory) -> None:
    provider = await make(model="malformed")
    with pytest.raises(UpstreamError, match="malformed reply") as caught:
        await provider.complete(chat())
    assert caught.value.code == "upstream_bad_response"
    with pytest.raises(UpstreamError, match="not JSON") as caught_stream:
        await collect(provider.stream(chat()))
    assert caught_stream.value.code == "upstream_bad_response"


async def test_a_body_that_is_not_a_message_is_an_upstream_error(make: Factory) -> None:
    provider = await make(model="garbage")
    with pytest.raises(UpstreamError, match="malformed reply") as caught:
        await provider.complete(chat())
    assert caught.value.code == "upstream_bad_response"
    with pytest.raises(UpstreamError, match="ended before it finished") as caught_stream:
        await collect(provider.stream(chat()))
    assert caught_stream.value.code == "upstream_bad_response"


async def test_truncated_stream_is_an_error_not_a_short_answer(make: Factory) -> None:
    provider = await make(model="truncate-2")
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError) as caught:
        await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_bad_response"
    assert text_of(received) == "Hello from"  # what came before the cut was delivered
    assert finishes_of(received) == []


async def test_stream_cut_after_the_last_word_is_an_error(make: Factory) -> None:
    provider = await make(model="truncate-4")  # every word sent, then half of the closing events
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError) as caught:
        await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_bad_response"
    assert text_of(received) == "Hello from the upstream."
    assert finishes_of(received) == []


async def test_error_event_mid_stream_is_an_upstream_error(make: Factory) -> None:
    provider = await make(model="stream-error")
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError, match="simulated mid-stream failure") as caught:
        await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_stream_error"
    assert caught.value.retryable is False  # output was already produced
    assert "anthropic-test" in caught.value.message
    assert text_of(received) == "Hello"


async def test_connection_reset_before_the_answer(make: Factory) -> None:
    await check_reset_before_answer(await make(model="reset"))


async def test_connection_reset_midway(make: Factory) -> None:
    await check_reset_midway(await make(model="reset-after-2"))


async def test_answers_over_max_response_bytes_are_refused(make: Factory) -> None:
    await check_too_large_refused(await make(model="huge-1", max_response_bytes=32 * 1024))


async def test_large_answers_within_max_response_bytes_are_read_whole(make: Factory) -> None:
    provider = await make(model="huge-0.25", max_response_bytes=1024 * 1024)
    response = await provider.complete(chat())
    assert len(response.choices[0].message.content or "") == 256 * 1024
    chunks = await collect(provider.stream(chat()))
    assert len(text_of(chunks)) == 256 * 1024
    assert finishes_of(chunks) == ["stop"]


async def test_unreachable_upstream(make: Factory) -> None:
    await check_unreachable(await make(base_url=f"http://127.0.0.1:{free_port()}/v1"))


async def test_slow_upstream_past_the_read_timeout(make: Factory) -> None:
    provider = await make(model="sleep-5", timeouts=Timeouts(connect=2.0, read=0.3, total=20.0))
    await check_read_timeout(provider)


async def test_stream_past_the_total_deadline_times_out_midway(make: Factory) -> None:
    provider = await make(model="drip-0.05", timeouts=Timeouts(connect=2.0, read=30.0, total=0.5))
    await check_total_deadline_midway(provider)


async def test_closing_the_stream_disconnects_from_the_upstream(
    upstream: Upstream, make: Factory
) -> None:
    await check_close_disconnects(await make(model="drip-0.02"), upstream)


async def test_many_concurrent_requests_share_a_small_pool(make: Factory) -> None:
    await check_small_pool(await make(max_connections=4))


# -- event sequences the test upstream does not send ----------------------------------------------


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


MESSAGE_START = {
    "type": "message_start",
    "message": {
        "id": "msg_fixed",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    },
}
TEXT_START = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}
TEXT_DELTA = {
    "type": "content_block_delta",
    "index": 0,
    "delta": {"type": "text_delta", "text": "Hi"},
}
MESSAGE_DELTA = {
    "type": "message_delta",
    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
    "usage": {"output_tokens": 1},
}


def error_event(kind: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": f"simulated {kind}"}}


@asynccontextmanager
async def fixed_stream(body: bytes) -> AsyncIterator[str]:
    """A server in this process that answers every Messages call with ``body`` as an event
    stream; its base URL."""

    async def reply(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/event-stream")

    async with serve("/v1/messages", reply) as root:
        yield f"{root}/v1"


@pytest.mark.parametrize(
    ("kind", "retryable"),
    [("overloaded_error", True), ("rate_limit_error", True), ("api_error", False)],
)
async def test_a_transient_error_event_before_any_output_is_retryable(
    make: Factory, kind: str, retryable: bool
) -> None:
    async with fixed_stream(sse(MESSAGE_START, TEXT_START, error_event(kind))) as base_url:
        provider = await make(base_url=base_url)
        received: list[ChatCompletionChunk] = []
        with pytest.raises(UpstreamError, match=f"simulated {kind}") as caught:
            await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_stream_error"
    assert caught.value.retryable is retryable
    assert text_of(received) == ""  # only the role chunk came before


async def test_a_stream_without_message_stop_is_an_error_even_after_its_stop_reason(
    make: Factory,
) -> None:
    body = sse(MESSAGE_START, TEXT_START, TEXT_DELTA, MESSAGE_DELTA)
    async with fixed_stream(body) as base_url:
        provider = await make(base_url=base_url)
        received: list[ChatCompletionChunk] = []
        with pytest.raises(UpstreamError, match="no message_stop") as caught:
            await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_bad_response"
    assert text_of(received) == "Hi"


async def test_a_stream_with_message_stop_is_whole(make: Factory) -> None:
    body = sse(MESSAGE_START, TEXT_START, TEXT_DELTA, MESSAGE_DELTA, {"type": "message_stop"})
    async with fixed_stream(body) as base_url:
        provider = await make(base_url=base_url)
        chunks = await collect(provider.stream(chat()))
    assert text_of(chunks) == "Hi"
    assert finishes_of(chunks) == ["stop"]
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (5, 1)


# -- config, start and lifecycle ------------------------------------------------------------------


async def test_provider_implements_the_protocol(make: Factory) -> None:
    provider = await make()
    assert isinstance(provider, Provider)
    assert provider.capabilities.streaming
    assert provider.capabilities.tools
    assert provider.capabilities.json_mode
    assert not provider.capabilities.embeddings
    assert not isinstance(provider, HealthCheckable)  # every Messages call spends tokens


async def test_the_entry_point_builds_it(upstream: Upstream) -> None:
    provider = ProviderRegistry().build(
        "anthropic-test", anthropic_config(upstream.base_url), resolve_secret
    )
    assert isinstance(provider, AnthropicProvider)


async def test_config_defaults() -> None:
    config = AnthropicProviderConfig(type="anthropic", model=MODEL, api_key="env:ANTHROPIC_KEY")
    assert config.base_url == "https://api.anthropic.com/v1"
    assert config.api_version == ANTHROPIC_VERSION
    assert config.default_max_tokens == 4096
    assert config.sampling == "drop"


@pytest.mark.parametrize(
    "settings",
    [
        {"api_key": "sk-ant-literal-key"},  # credentials are references
        {"headers": {"x-api-key": "sk-ant-literal"}},
        {"base_url": "https://api.anthropic.com/v1?key=x"},
        {"base_url": "api.anthropic.com/v1"},
        {"api_version": "latest"},
        {"sampling": "clamp"},
        {"default_max_tokens": 0},
        {"model": ""},
    ],
)
async def test_config_refuses(settings: dict[str, Any]) -> None:
    values = {"type": "anthropic", "model": MODEL, "api_key": "env:ANTHROPIC_KEY", **settings}
    with pytest.raises(ValidationError):
        AnthropicProviderConfig.model_validate(values)


async def test_missing_credential_refuses_to_start_naming_the_reference() -> None:
    config = anthropic_config("http://127.0.0.1:9/v1", api_key="env:ZG_TEST_NOT_SET")
    await check_missing_credential_refused(
        AnthropicProvider("anthropic-test", config, resolve_secret)
    )


async def test_malformed_header_refuses_to_start() -> None:
    config = anthropic_config("http://127.0.0.1:9/v1", headers={"X-Team": "a\r\nX-Injected: 1"})
    await check_malformed_header_refused(
        AnthropicProvider("anthropic-test", config, resolve_secret)
    )


async def test_lifecycle(make: Factory) -> None:
    await check_lifecycle(await make())


async def test_rejects_another_providers_config() -> None:
    with pytest.raises(ProviderStartError, match="needs an 'anthropic' provider config"):
        AnthropicProvider("x", compat_config("http://127.0.0.1:9/v1"), resolve_secret)
