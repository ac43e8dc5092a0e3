"""The Provider protocol every upstream implements, and what it declares about itself.

A provider is built from its model's config (``ModelConfig``) and a credential resolver, started
once (``start``: load weights, verify digests, open connection pools), then serves requests
concurrently. Providers raise only ``zonegate.errors`` types (``UpstreamError``,
``UpstreamTimeout``, ``InvalidRequest``), so the gateway maps every failure the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol, runtime_checkable

from zonegate.config.schema import ModelConfig
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from zonegate.wire.openai_embeddings import EmbeddingRequest, EmbeddingResponse

# Resolves a credential reference ('env:NAME', 'file:/path') to its secret value.
SecretResolver = Callable[[str], str]


@dataclass(frozen=True)
class Capabilities:
    streaming: bool = True
    tools: bool = False
    json_mode: bool = False
    vision: bool = False
    embeddings: bool = False


@runtime_checkable
class Provider(Protocol):
    """One pinned model deployment, reachable for chat completions."""

    model_id: str
    capabilities: Capabilities

    async def start(self) -> None:
        """Acquire resources; raise ``ProviderStartError`` when the model cannot be served."""

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        """One non-streaming completion. ``request.model`` is the caller's; ignore it."""

    def stream(self, request: ChatCompletionRequest) -> AsyncIterator[ChatCompletionChunk]:
        """Stream chunks; the last carries usage. Closing the iterator cancels generation."""

    async def aclose(self) -> None:
        """Release resources (connections, threads, weights)."""


@runtime_checkable
class EmbeddingProvider(Protocol):
    """A provider that also serves embeddings (and declares ``capabilities.embeddings``)."""

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Vectors for ``request.texts()``, in order. ``request.model`` is the caller's."""


@runtime_checkable
class HealthCheckable(Protocol):
    """A provider whose upstream can be probed without spending tokens."""

    async def check_health(self) -> None:
        """Return if the upstream answers; raise ``UpstreamError`` (or any error) if not."""


class ProviderFactory(Protocol):
    def __call__(self, model_id: str, config: ModelConfig, secrets: SecretResolver) -> Provider: ...


class ProviderStartError(Exception):
    """A provider could not start (missing SDK, digest mismatch, unreadable weights)."""


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
