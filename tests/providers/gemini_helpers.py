"""What the Gemini provider's test modules share: building providers against the upstream
process, requests, and reading streams and the upstream's records."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from tests.providers.conftest import gemini_base_url, gemini_config, resolve_secret
from tests.support.processes import Upstream
from zonegate.providers.gemini import GeminiProvider
from zonegate.wire.openai_chat import ChatCompletionChunk, ChatCompletionRequest

MODEL = "gemini-2.5-flash-001"


class GeminiProviders:
    """Builds and starts providers against the upstream (or another URL); ``aclose`` them all."""

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream
        self._started: list[GeminiProvider] = []

    async def __call__(
        self, model: str = MODEL, base_url: str | None = None, **settings: Any
    ) -> GeminiProvider:
        config = gemini_config(base_url or gemini_base_url(self._upstream), model, **settings)
        provider = GeminiProvider("gemini-test", config, resolve_secret)
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


def received_with(upstream: Upstream, text: str) -> dict[str, Any]:
    """The one Gemini request whose contents hold ``text``."""
    [record] = [
        r
        for r in upstream.received()
        if "/models/" in r["path"] and text in json.dumps((r["body"] or {}).get("contents", ""))
    ]
    return record


def own_burst_count() -> dict[str, str]:
    """A header that gives a test its own burst count on the upstream."""
    return {"x-test-id": uuid.uuid4().hex}
