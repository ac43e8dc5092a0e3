"""What the vendor providers' test modules (Anthropic, Gemini) share: starting providers against
the upstream process, requests, reading streams, servers in this process for bodies the upstream
does not send, and the checks that every HTTP provider must pass the same way."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import pytest
from aiohttp import web

from tests.support.processes import Upstream
from zonegate.errors import UpstreamError, UpstreamTimeout
from zonegate.providers.base import Provider, ProviderStartError
from zonegate.wire.openai_chat import ChatCompletionChunk, ChatCompletionRequest

P = TypeVar("P", bound=Provider)
# (base URL, model, settings) -> a provider, not yet started.
Build = Callable[[str, str, dict[str, Any]], P]


class StartedProviders(Generic[P]):
    """Builds and starts providers against the upstream (or another URL); ``aclose`` them all."""

    def __init__(self, build: Build[P], base_url: str, model: str) -> None:
        self._build = build
        self._base_url = base_url
        self._model = model
        self._started: list[P] = []

    async def __call__(
        self, model: str | None = None, base_url: str | None = None, **settings: Any
    ) -> P:
        chosen = self._model if model is None else model
        provider = self._build(base_url or self._base_url, chosen, settings)
        await provider.start()
        self._started.append(provider)
        return provider

    async def aclose(self) -> None:
        for provider in self._started:
            await provider.aclose()


def chat(text: str = "Hello there", **params: Any) -> ChatCompletionRequest:
    messages = params.pop("messages", [{"role": "user", "content": text}])
    return ChatCompletionRequest.model_validate(
        {"model": "caller-model", "messages": messages, **params}
    )


async def collect(stream: AsyncIterator[ChatCompletionChunk]) -> list[ChatCompletionChunk]:
    return [chunk async for chunk in stream]


async def drain(
    stream: AsyncIterator[ChatCompletionChunk], into: list[ChatCompletionChunk]
) -> None:
    """Read a stream into ``into``, so what came before a failure can be looked at."""
    async for chunk in stream:
        into.append(chunk)


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.delta.content or "" for chunk in chunks for c in chunk.choices)


def finishes_of(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]


def marker() -> str:
    return f"marker-{uuid.uuid4().hex}"


def own_burst_count() -> dict[str, str]:
    """A header that gives a test its own burst count on the upstream."""
    return {"x-test-id": uuid.uuid4().hex}


@asynccontextmanager
async def serve(
    route: str, reply: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> AsyncIterator[str]:
    """A server in this process that answers POSTs to ``route`` with ``reply``; its root URL."""
    app = web.Application()
    app.router.add_post(route, reply)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


# -- checks every HTTP provider passes the same way -----------------------------------------------


async def check_status_error(provider: Provider, status: int, code: str, retryable: bool) -> None:
    """``provider`` serves a ``status-N`` model; the vendor's body must not be passed on."""
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(chat())
    error = caught.value
    assert type(error) is UpstreamError
    assert error.status == 502
    assert error.code == code
    assert error.retryable is retryable
    assert f"HTTP {status}" in error.message
    assert "simulated" not in error.message  # the vendor's body is not passed on

    stream = provider.stream(chat())
    with pytest.raises(UpstreamError) as caught_stream:
        await anext(stream)
    assert caught_stream.value.code == code
    assert caught_stream.value.retryable is retryable
    await stream.aclose()


async def check_too_large_refused(provider: Provider) -> None:
    """``provider`` serves a ``huge-1`` model under a 32 KiB ``max_response_bytes``."""
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(chat())
    assert caught.value.code == "upstream_response_too_large"
    with pytest.raises(UpstreamError) as caught_stream:
        await collect(provider.stream(chat()))
    assert caught_stream.value.code == "upstream_response_too_large"


async def check_reset_before_answer(provider: Provider) -> None:
    """``provider`` serves a ``reset`` model: the connection drops before any answer."""
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(chat())
    assert caught.value.code == "upstream_connection_error"
    assert caught.value.retryable is False  # the request may have been served


async def check_reset_midway(provider: Provider) -> None:
    """``provider`` serves a ``reset-after-2`` model: the connection drops after two words."""
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError) as caught:
        await drain(provider.stream(chat()), into=received)
    assert caught.value.code == "upstream_connection_error"
    assert text_of(received) == "Hello from"

    with pytest.raises(UpstreamError) as caught_plain:
        await provider.complete(chat())  # half the body, then the reset
    assert caught_plain.value.code == "upstream_connection_error"


async def check_unreachable(provider: Provider) -> None:
    """``provider``'s base URL is a port nothing listens on."""
    with pytest.raises(UpstreamError, match="cannot reach the upstream") as caught:
        await provider.complete(chat())
    assert caught.value.code == "upstream_unreachable"
    assert caught.value.retryable is True
    stream = provider.stream(chat())
    with pytest.raises(UpstreamError) as caught_stream:
        await anext(stream)
    assert caught_stream.value.code == "upstream_unreachable"
    await stream.aclose()


async def check_read_timeout(provider: Provider) -> None:
    """``provider`` serves a ``sleep-5`` model with a read timeout well under that."""
    with pytest.raises(UpstreamTimeout, match=r"timeouts\.read") as caught:
        await provider.complete(chat())
    assert caught.value.status == 504


async def check_total_deadline_midway(provider: Provider) -> None:
    """``provider`` serves a ``drip-0.05`` stream with a total deadline well under its length."""
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamTimeout, match=r"timeouts\.total"):
        await drain(provider.stream(chat()), into=received)
    assert 0 < len(received) < 1000


async def check_close_disconnects(provider: Provider, upstream: Upstream) -> None:
    """``provider`` serves a slow ``drip-0.02`` stream; closing it must end the upstream's."""
    text = marker()
    stream = provider.stream(chat(text))
    for _ in range(3):
        await anext(stream)
    await stream.aclose()

    def ended() -> list[dict[str, Any]]:
        return [e for e in upstream.stream_ends() if e["user"] == text]

    async with asyncio.timeout(30):
        while not ended():  # noqa: ASYNC110 - polling another process's file
            await asyncio.sleep(0.02)
    [end] = ended()
    assert end["complete"] is False
    assert end["tokens_sent"] < 1000


async def check_small_pool(provider: Provider) -> None:
    """``provider`` has ``max_connections=4``; 40 requests at once all complete."""
    responses = await asyncio.gather(*(provider.complete(chat()) for _ in range(40)))
    assert {r.choices[0].message.content for r in responses} == {"Hello from the upstream."}


async def check_missing_credential_refused(provider: Provider) -> None:
    """``provider``'s ``api_key`` is ``env:ZG_TEST_NOT_SET``; ``start`` must name it."""
    with pytest.raises(
        ProviderStartError, match=r"api_key credential reference 'env:ZG_TEST_NOT_SET'"
    ):
        await provider.start()


async def check_malformed_header_refused(provider: Provider) -> None:
    """``provider`` has an ``X-Team`` header with a line break in it."""
    with pytest.raises(ProviderStartError, match="header 'X-Team' is not a valid HTTP header"):
        await provider.start()


async def check_lifecycle(provider: Provider) -> None:
    """``start`` is idempotent and, once closed, a provider refuses to be used."""
    await provider.start()  # idempotent
    assert (await provider.complete(chat())).choices
    await provider.aclose()
    with pytest.raises(RuntimeError, match="not started"):
        await provider.complete(chat())
    stream = provider.stream(chat())
    with pytest.raises(RuntimeError, match="not started"):
        await anext(stream)
