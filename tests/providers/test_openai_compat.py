"""The OpenAI-compatible provider against a real upstream process: what the upstream receives,
how each failure maps onto the gateway's errors, and that a closed stream reaches the upstream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from tests.providers.conftest import UPSTREAM_KEY, compat_config, llama_config, resolve_secret
from tests.providers.vendor_support import check_close_disconnects
from tests.support.processes import Upstream, free_port
from zonegate.config.schema import Timeouts
from zonegate.errors import InvalidRequest, UpstreamError, UpstreamTimeout
from zonegate.providers.base import ProviderStartError
from zonegate.providers.openai_compat import OpenAICompatProvider
from zonegate.wire.openai_chat import ChatCompletionChunk, ChatCompletionRequest

pytestmark = pytest.mark.asyncio(loop_scope="session")

Factory = Callable[..., Any]


@pytest_asyncio.fixture(loop_scope="session")
async def make(upstream: Upstream) -> AsyncIterator[Factory]:
    """Build and start providers against the upstream (or another URL); closed afterwards."""
    started: list[OpenAICompatProvider] = []

    async def build(
        model: str = "test-model", base_url: str | None = None, **settings: Any
    ) -> OpenAICompatProvider:
        config = compat_config(base_url or upstream.base_url, model, **settings)
        provider = OpenAICompatProvider("vendor-test", config, resolve_secret)
        await provider.start()
        started.append(provider)
        return provider

    yield build
    for provider in started:
        await provider.aclose()


def chat(text: str = "Hello there", **params: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "caller-model", "messages": [{"role": "user", "content": text}], **params}
    )


async def drain(
    stream: AsyncIterator[ChatCompletionChunk], into: list[ChatCompletionChunk] | None = None
) -> None:
    async for chunk in stream:
        if into is not None:
            into.append(chunk)


def marker() -> str:
    return f"marker-{uuid.uuid4().hex}"


def received_with(upstream: Upstream, text: str) -> dict[str, Any]:
    [record] = [
        r for r in upstream.received() if text in str((r["body"] or {}).get("messages", ""))
    ]
    return record


# -- what the upstream receives -------------------------------------------------------------------


async def test_upstream_receives_the_request_with_the_pinned_model_and_credentials(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make(
        model="gpt-4o-mini-2024-07-18",
        headers={"X-Tenant": "env:ZG_TEST_TENANT", "X-Team": "search"},
    )
    text = marker()
    request = chat(
        text,
        temperature=0.5,
        max_tokens=3,
        stop=["\n"],
        logit_bias={"50256": -100},
        future_parameter={"kept": True},
        metadata={"data_class": "internal"},
        stream_options={"include_usage": True},
    )
    response = await provider.complete(request)

    sent = received_with(upstream, text)
    body = sent["body"]
    assert body["model"] == "gpt-4o-mini-2024-07-18"
    assert body["stream"] is False
    assert "stream_options" not in body  # only valid with stream: true
    assert "metadata" not in body  # the gateway's own labels stay in the gateway
    assert body["messages"] == [{"role": "user", "content": text}]
    assert body["temperature"] == 0.5
    assert body["max_tokens"] == 3
    assert body["stop"] == ["\n"]
    assert body["logit_bias"] == {"50256": -100}
    assert body["future_parameter"] == {"kept": True}
    assert "top_p" not in body  # unset parameters are not sent as null

    headers = sent["headers"]
    assert headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert headers["x-tenant"] == "tenant-42"
    assert headers["x-team"] == "search"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("zonegate/")

    assert response.model == "upstream-gpt-4o-mini-2024-07-18"  # as the upstream reported it
    assert response.choices[0].message.content == "Hello from the"
    assert response.choices[0].finish_reason == "length"


async def test_stream_asks_the_upstream_for_usage(upstream: Upstream, make: Factory) -> None:
    provider = await make()
    text = marker()
    chunks = [c async for c in provider.stream(chat(text, stream_options={"include_usage": False}))]

    body = received_with(upstream, text)["body"]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4


async def test_echoes_content_both_ways(make: Factory) -> None:
    provider = await make(model="echo")
    text = "the quick brown fox"
    response = await provider.complete(chat(text))
    assert response.choices[0].message.content == text
    streamed = [c async for c in provider.stream(chat(text))]
    assert "".join(c.delta.content or "" for s in streamed for c in s.choices) == text


async def test_many_concurrent_requests_share_a_small_pool(make: Factory) -> None:
    provider = await make(max_connections=4)
    responses = await asyncio.gather(*(provider.complete(chat()) for _ in range(40)))
    assert {r.choices[0].message.content for r in responses} == {"Hello from the upstream."}


async def test_closing_the_stream_disconnects_from_the_upstream(
    upstream: Upstream, make: Factory
) -> None:
    await check_close_disconnects(await make(model="drip-0.02"), upstream)


# -- failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (500, "upstream_server_error", False),
        (502, "upstream_unavailable", True),
        (503, "upstream_unavailable", True),
        (504, "upstream_unavailable", True),
        (401, "upstream_auth_failed", False),
        (403, "upstream_auth_failed", False),
        (404, "upstream_not_found", False),
        (429, "upstream_rate_limited", True),
        (418, "upstream_error", False),
    ],
)
async def test_upstream_failures_are_upstream_errors(
    make: Factory, status: int, code: str, retryable: bool
) -> None:
    provider = await make(model=f"status-{status}")
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(chat())
    error = caught.value
    assert type(error) is UpstreamError
    assert error.status == 502
    assert error.code == code
    assert error.retryable is retryable
    assert f"HTTP {status}" in error.message
    assert "simulated" not in error.message  # the upstream's body is not passed on

    stream = provider.stream(chat())
    with pytest.raises(UpstreamError) as caught_stream:
        await anext(stream)
    assert caught_stream.value.code == code
    await stream.aclose()


@pytest.mark.parametrize("status", [400, 413, 422])
async def test_requests_the_upstream_refuses_are_invalid_requests(
    make: Factory, status: int
) -> None:
    provider = await make(model=f"status-{status}")
    with pytest.raises(InvalidRequest) as caught:
        await provider.complete(chat())
    assert caught.value.status == 400
    assert caught.value.code == "upstream_rejected_request"
    assert f"simulated upstream failure (HTTP {status})" in caught.value.message


async def test_unreachable_upstream(make: Factory) -> None:
    provider = await make(base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(chat())
    assert caught.value.code == "upstream_unreachable"
    assert caught.value.status == 502

    stream = provider.stream(chat())
    with pytest.raises(UpstreamError, match="cannot reach the upstream") as caught_stream:
        await anext(stream)
    assert caught_stream.value.code == "upstream_unreachable"
    await stream.aclose()


async def test_slow_upstream_past_the_read_timeout(make: Factory) -> None:
    provider = await make(model="sleep-5", timeouts=Timeouts(connect=2.0, read=0.3, total=20.0))
    with pytest.raises(UpstreamTimeout) as caught:
        await provider.complete(chat())
    assert caught.value.status == 504
    assert caught.value.code == "upstream_timeout"
    assert "timeouts.read" in caught.value.message


async def test_slow_upstream_past_the_total_deadline(make: Factory) -> None:
    provider = await make(model="sleep-5", timeouts=Timeouts(connect=2.0, read=30.0, total=0.3))
    with pytest.raises(UpstreamTimeout, match=r"timeouts\.total"):
        await provider.complete(chat())


async def test_stream_past_the_total_deadline_times_out_midway(make: Factory) -> None:
    provider = await make(model="drip-0.05", timeouts=Timeouts(connect=2.0, read=30.0, total=0.5))
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamTimeout, match=r"timeouts\.total"):
        await drain(provider.stream(chat()), into=received)
    assert 0 < len(received) < 1000


async def test_malformed_json_is_an_upstream_error(make: Factory) -> None:
    provider = await make(model="garbage")
    with pytest.raises(UpstreamError, match="malformed JSON") as caught:
        await provider.complete(chat())
    assert caught.value.code == "upstream_bad_response"


async def test_stream_without_events_is_an_upstream_error(make: Factory) -> None:
    provider = await make(model="garbage")
    with pytest.raises(UpstreamError, match="ended the stream before it finished"):
        await drain(provider.stream(chat()))


async def test_error_event_mid_stream_is_an_upstream_error(make: Factory) -> None:
    provider = await make(model="stream-error")
    chunks: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError, match="simulated mid-stream failure") as caught:
        await drain(provider.stream(chat()), into=chunks)
    assert caught.value.code == "upstream_stream_error"
    assert chunks  # what came before the error was delivered


# -- start and lifecycle --------------------------------------------------------------------------


async def test_missing_credential_refuses_to_start_naming_the_reference() -> None:
    config = compat_config("http://127.0.0.1:9/v1", api_key="env:ZG_TEST_NOT_SET")
    provider = OpenAICompatProvider("vendor-test", config, resolve_secret)
    with pytest.raises(
        ProviderStartError, match=r"api_key credential reference 'env:ZG_TEST_NOT_SET'"
    ):
        await provider.start()


async def test_unresolvable_header_reference_refuses_to_start() -> None:
    config = compat_config("http://127.0.0.1:9/v1", headers={"X-Api-Key": "env:ZG_TEST_NOPE"})
    provider = OpenAICompatProvider("vendor-test", config, resolve_secret)
    with pytest.raises(ProviderStartError, match=r"headers\.X-Api-Key credential reference"):
        await provider.start()


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"X-Team": "search\r\nX-Injected: 1"}, "X-Team"),
        ({"X Team": "search"}, "X Team"),
        ({"X-Team": "caf\u00e9"}, "X-Team"),
    ],
)
async def test_malformed_header_refuses_to_start(headers: dict[str, str], named: str) -> None:
    config = compat_config("http://127.0.0.1:9/v1", headers=headers)
    provider = OpenAICompatProvider("vendor-test", config, resolve_secret)
    with pytest.raises(ProviderStartError, match=rf"header '{named}' is not a valid HTTP header"):
        await provider.start()


async def test_no_api_key_sends_no_authorization(upstream: Upstream, make: Factory) -> None:
    provider = await make(api_key=None)
    text = marker()
    await provider.complete(chat(text))
    assert "authorization" not in received_with(upstream, text)["headers"]


async def test_lifecycle(make: Factory) -> None:
    provider = await make()
    await provider.start()  # idempotent
    assert (await provider.complete(chat())).choices
    await provider.aclose()
    with pytest.raises(RuntimeError, match="not started"):
        await provider.complete(chat())


async def test_rejects_another_providers_config() -> None:
    with pytest.raises(ProviderStartError, match="needs an 'openai_compat' provider config"):
        OpenAICompatProvider("x", llama_config(), resolve_secret)


# -- health probe ---------------------------------------------------------------------------


async def test_a_live_upstream_passes_with_the_configured_credentials(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make()
    seen = len(upstream.received())
    await provider.check_health()
    [probe] = upstream.received()[seen:]
    assert (probe["method"], probe["path"]) == ("GET", "/v1/models")
    assert probe["headers"]["authorization"].startswith("Bearer ")


async def test_a_dead_upstream_fails_as_unreachable(make: Factory) -> None:
    provider = await make(base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(UpstreamError) as caught:
        await provider.check_health()
    assert caught.value.code == "upstream_unreachable"


async def test_an_upstream_answering_an_error_fails(upstream: Upstream, make: Factory) -> None:
    provider = await make(base_url=f"{upstream.process.url}/elsewhere/v1")
    with pytest.raises(UpstreamError) as caught:
        await provider.check_health()
    assert caught.value.code == "upstream_not_found"


# -- Azure OpenAI -----------------------------------------------------------------------------


async def test_azure_deployment_urls_with_api_version_and_api_key(
    upstream: Upstream, make: Factory
) -> None:
    azure = f"{upstream.process.url}/openai/deployments/gpt-4o-prod"
    provider = await make(
        base_url=azure,
        api_key=None,
        api_version="2024-10-21",
        headers={"api-key": "env:ZG_TEST_UPSTREAM_KEY"},
    )
    seen = len(upstream.received())
    reply = await provider.complete(chat())
    assert reply.choices[0].message.content
    chunks = [chunk async for chunk in provider.stream(chat())]
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)
    for request in upstream.received()[seen:]:
        assert request["path"] == "/openai/deployments/gpt-4o-prod/chat/completions"
        assert request["query"] == {"api-version": "2024-10-21"}
        assert request["headers"]["api-key"] == UPSTREAM_KEY
        assert "authorization" not in request["headers"]

    unversioned = await make(base_url=azure, headers={"api-key": "env:ZG_TEST_UPSTREAM_KEY"})
    with pytest.raises(UpstreamError) as caught:
        await unversioned.complete(chat())
    assert caught.value.code == "upstream_not_found"
