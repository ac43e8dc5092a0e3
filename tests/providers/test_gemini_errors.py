"""The Gemini provider's failures against a real Gemini-shaped upstream process (status
bursts, malformed and truncated answers, resets, limits, timeouts), and Google's error details
that the upstream process does not send, from a server in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from tests.providers.gemini_helpers import GeminiProviders, gemini_providers
from tests.providers.vendor_support import (
    chat,
    check_close_disconnects,
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
    own_burst_count,
    serve,
    text_of,
)
from tests.support.processes import Upstream, free_port
from zonegate.config.schema import Timeouts
from zonegate.errors import InvalidRequest, UpstreamError
from zonegate.wire.openai_chat import ChatCompletionChunk

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def make(upstream: Upstream) -> AsyncIterator[GeminiProviders]:
    providers = gemini_providers(upstream)
    yield providers
    await providers.aclose()


# -- failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (500, "upstream_server_error", False),
        (501, "upstream_server_error", False),
        (503, "upstream_unavailable", True),
        (504, "upstream_unavailable", True),
        (401, "upstream_auth_failed", False),
        (403, "upstream_auth_failed", False),
        (404, "upstream_not_found", False),
        (429, "upstream_rate_limited", True),
        (409, "upstream_error", False),
    ],
)
async def test_upstream_failures_are_upstream_errors(
    make: GeminiProviders, status: int, code: str, retryable: bool
) -> None:
    await check_status_error(await make(model=f"status-{status}"), status, code, retryable)


async def test_a_burst_of_unavailability_passes(make: GeminiProviders) -> None:
    provider = await make(model="burst-503-2-retry-3", headers=own_burst_count())
    for _ in range(2):
        with pytest.raises(UpstreamError) as caught:
            await provider.complete(chat())
        assert caught.value.code == "upstream_unavailable"
        assert caught.value.retryable is True
        assert caught.value.retry_after == 3.0
    response = await provider.complete(chat())
    assert response.choices[0].message.content == "Hello from the upstream."


async def test_a_burst_of_rate_limits_in_a_stream(make: GeminiProviders) -> None:
    provider = await make(model="burst-429-1", headers=own_burst_count())
    with pytest.raises(UpstreamError) as caught:
        await collect(provider.stream(chat()))
    assert caught.value.code == "upstream_rate_limited"
    assert caught.value.retry_after == 1.0
    assert finishes_of(await collect(provider.stream(chat()))) == ["stop"]


async def test_requests_google_refuses_are_invalid_requests_with_its_message(
    make: GeminiProviders,
) -> None:
    provider = await make(model="status-400")
    with pytest.raises(InvalidRequest) as caught:
        await provider.complete(chat())
    assert caught.value.status == 400
    assert caught.value.code == "upstream_rejected_request"
    assert caught.value.message.endswith(
        "rejected the request (HTTP 400): simulated upstream failure (HTTP 400) (INVALID_ARGUMENT)"
    )
    stream = provider.stream(chat())
    with pytest.raises(InvalidRequest, match="INVALID_ARGUMENT"):
        await anext(stream)
    await stream.aclose()


async def test_malformed_body_is_an_upstream_error(make: GeminiProviders) -> None:
    provider = await make(model="malformed")
    with pytest.raises(UpstreamError, match="malformed JSON") as caught:
        await provider.complete(chat())
    assert caught.value.code == "upstream_bad_response"
    with pytest.raises(UpstreamError, match="malformed JSON") as caught_stream:
        await collect(provider.stream(chat()))
    assert caught_stream.value.code == "upstream_bad_response"


async def test_a_body_that_is_not_a_response_is_an_upstream_error(make: GeminiProviders) -> None:
    provider = await make(model="garbage")
    with pytest.raises(UpstreamError, match="malformed JSON"):
        await provider.complete(chat())
    with pytest.raises(UpstreamError, match="ended before it finished") as caught:
        await collect(provider.stream(chat()))
    assert caught.value.code == "upstream_bad_response"


async def test_truncated_stream_is_an_error_not_a_short_answer(make: GeminiProviders) -> None:
    provider = await make(model="truncate-2")
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError) as caught:
        await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_bad_response"
    assert text_of(received) == "Hello from"  # what came before the cut was delivered
    assert finishes_of(received) == []


async def test_stream_cut_inside_the_finishing_event_is_an_error(make: GeminiProviders) -> None:
    provider = await make(model="truncate-4")  # every word sent, the finishing event half-sent
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError) as caught:
        await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_bad_response"
    assert text_of(received) == "Hello from the upstream."
    assert finishes_of(received) == []


async def test_error_event_mid_stream_is_an_upstream_error(make: GeminiProviders) -> None:
    provider = await make(model="stream-error")
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError, match="simulated mid-stream failure") as caught:
        await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_stream_error"
    assert "gemini-test" in caught.value.message
    assert text_of(received) == "Hello"


async def test_connection_reset_before_the_answer(make: GeminiProviders) -> None:
    await check_reset_before_answer(await make(model="reset"))


async def test_connection_reset_midway(make: GeminiProviders) -> None:
    await check_reset_midway(await make(model="reset-after-2"))


async def test_answers_over_max_response_bytes_are_refused(make: GeminiProviders) -> None:
    await check_too_large_refused(await make(model="huge-1", max_response_bytes=32 * 1024))


async def test_unreachable_upstream(make: GeminiProviders) -> None:
    await check_unreachable(await make(base_url=f"http://127.0.0.1:{free_port()}/v1beta"))


async def test_slow_upstream_past_the_read_timeout(make: GeminiProviders) -> None:
    provider = await make(model="sleep-5", timeouts=Timeouts(connect=2.0, read=0.3, total=20.0))
    await check_read_timeout(provider)


async def test_stream_past_the_total_deadline_times_out_midway(make: GeminiProviders) -> None:
    provider = await make(model="drip-0.05", timeouts=Timeouts(connect=2.0, read=30.0, total=0.5))
    await check_total_deadline_midway(provider)


async def test_closing_the_stream_disconnects_from_the_upstream(
    upstream: Upstream, make: GeminiProviders
) -> None:
    await check_close_disconnects(await make(model="drip-0.02"), upstream)


async def test_many_concurrent_requests_share_a_small_pool(make: GeminiProviders) -> None:
    await check_small_pool(await make(max_connections=4))


# -- Google's error details (bodies the test upstream does not send) ------------------------------


@asynccontextmanager
async def google_error(
    status: int, name: str, message: str, *details: dict[str, Any]
) -> AsyncIterator[str]:
    """A server in this process that answers every Gemini call with one Google error body, in
    the shape Google documents; its base URL."""
    error = {"code": status, "message": message, "status": name, "details": list(details)}

    async def reply(_: web.Request) -> web.Response:
        return web.json_response({"error": error}, status=status)

    async with serve("/v1beta/models/{target}", reply) as root:
        yield f"{root}/v1beta"


async def test_an_invalid_key_is_not_the_callers_fault(make: GeminiProviders) -> None:
    reason = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
    }
    message = "API key not valid. Please pass a valid API key."
    async with google_error(400, "INVALID_ARGUMENT", message, reason) as base_url:
        provider = await make(base_url=base_url)
        with pytest.raises(UpstreamError) as caught:
            await provider.complete(chat())
    assert type(caught.value) is UpstreamError
    assert caught.value.code == "upstream_auth_failed"
    assert "API_KEY_INVALID" in caught.value.message
    assert "api_key reference" in caught.value.message


async def test_a_failed_precondition_is_not_the_callers_fault(make: GeminiProviders) -> None:
    message = "User location is not supported for the API use."
    async with google_error(400, "FAILED_PRECONDITION", message) as base_url:
        provider = await make(base_url=base_url)
        with pytest.raises(UpstreamError) as caught:
            await provider.complete(chat())
    assert type(caught.value) is UpstreamError
    assert caught.value.code == "upstream_error"
    assert "location" not in caught.value.message  # the account's situation stays private


async def test_the_retry_delay_in_the_body_is_the_wait(make: GeminiProviders) -> None:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
    async with google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", retry) as base_url:
        provider = await make(base_url=base_url)
        with pytest.raises(UpstreamError) as caught:
            await provider.complete(chat())
    assert caught.value.code == "upstream_rate_limited"
    assert caught.value.retryable is True
    assert caught.value.retry_after == 37.0
