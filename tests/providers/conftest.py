"""Shared fixtures: a real upstream process, the real SmolLM2 model (loaded once), and the
providers started against them on the session's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from tests.support.processes import Upstream, start_upstream
from zonegate.config.schema import (
    AnthropicProviderConfig,
    GeminiProviderConfig,
    LlamaCppProviderConfig,
    ModelConfig,
    OpenAICompatProviderConfig,
    Timeouts,
)
from zonegate.providers.base import Provider

UPSTREAM_KEY = "sk-test-upstream-0123456789"
SECRETS = {
    "env:ZG_TEST_UPSTREAM_KEY": UPSTREAM_KEY,
    "env:ZG_TEST_TENANT": "tenant-42",
}


def resolve_secret(reference: str) -> str:
    """A credential resolver over fixed test values; unknown references fail like real ones."""
    try:
        return SECRETS[reference]
    except KeyError:
        raise LookupError(f"{reference} is not set") from None


def compat_config(base_url: str, model: str = "test-model", **settings: Any) -> ModelConfig:
    timeouts = settings.pop("timeouts", None) or Timeouts(connect=2.0, read=10.0, total=20.0)
    return ModelConfig(
        zone="vendor",
        provider=OpenAICompatProviderConfig(
            type="openai_compat",
            base_url=base_url,
            model=model,
            api_key=settings.pop("api_key", "env:ZG_TEST_UPSTREAM_KEY"),
            timeouts=timeouts,
            **settings,
        ),
    )


def gemini_base_url(upstream: Upstream) -> str:
    """The upstream's Gemini-style base URL, up to and including ``/v1beta``."""
    return f"{upstream.process.url}/v1beta"


def gemini_config(
    base_url: str, model: str = "gemini-2.5-flash-001", **settings: Any
) -> ModelConfig:
    timeouts = settings.pop("timeouts", None) or Timeouts(connect=2.0, read=10.0, total=20.0)
    return ModelConfig(
        zone="vendor",
        provider=GeminiProviderConfig(
            type="gemini",
            base_url=base_url,
            model=model,
            api_key=settings.pop("api_key", "env:ZG_TEST_UPSTREAM_KEY"),
            timeouts=timeouts,
            **settings,
        ),
    )


def anthropic_config(
    base_url: str, model: str = "claude-sonnet-4-5-20250929", **settings: Any
) -> ModelConfig:
    """An ``anthropic`` model; ``base_url`` up to and including ``/v1`` (the upstream's
    ``base_url`` serves ``/v1/messages``)."""
    timeouts = settings.pop("timeouts", None) or Timeouts(connect=2.0, read=10.0, total=20.0)
    return ModelConfig(
        zone="vendor",
        provider=AnthropicProviderConfig(
            type="anthropic",
            base_url=base_url,
            model=model,
            api_key=settings.pop("api_key", "env:ZG_TEST_UPSTREAM_KEY"),
            timeouts=timeouts,
            **settings,
        ),
    )


def llama_config(**settings: Any) -> ModelConfig:
    settings.setdefault("n_threads", 2)
    version = settings.pop("version", None)
    return ModelConfig(
        zone="local",
        version=version,
        provider=LlamaCppProviderConfig(type="llamacpp", **settings),
    )


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with start_upstream(tmp_path_factory.mktemp("upstream")) as up:
        yield up


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def openai_compat_provider(upstream: Upstream) -> AsyncIterator[Provider]:
    from zonegate.providers.openai_compat import OpenAICompatProvider

    provider = OpenAICompatProvider("vendor-test", compat_config(upstream.base_url), resolve_secret)
    await provider.start()
    yield provider
    await provider.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gemini_provider(upstream: Upstream) -> AsyncIterator[Provider]:
    from zonegate.providers.gemini import GeminiProvider

    config = gemini_config(gemini_base_url(upstream))
    provider = GeminiProvider("gemini-test", config, resolve_secret)
    await provider.start()
    yield provider
    await provider.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def anthropic_provider(upstream: Upstream) -> AsyncIterator[Provider]:
    from zonegate.providers.anthropic_messages import AnthropicProvider

    provider = AnthropicProvider(
        "anthropic-test", anthropic_config(upstream.base_url), resolve_secret
    )
    await provider.start()
    yield provider
    await provider.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def llamacpp_provider() -> AsyncIterator[Provider]:
    """The built-in SmolLM2 model, one slot (max_concurrency=1), loaded once per session."""
    from zonegate.providers.llamacpp import LlamaCppProvider

    provider = LlamaCppProvider("local-smollm2", llama_config(), resolve_secret)
    await provider.start()
    yield provider
    await provider.aclose()
