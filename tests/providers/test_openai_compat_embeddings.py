"""``OpenAICompatProvider.embed`` against a real upstream process: what the upstream receives,
the vectors coming back in order, and each failure mapped as for chat."""

from __future__ import annotations

import base64
import struct
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from tests.providers.conftest import UPSTREAM_KEY, compat_config, resolve_secret
from tests.support.processes import Upstream, free_port
from tests.support.upstream_server import EMBEDDING_DIMENSIONS, embedding_for
from zonegate.config.schema import Timeouts
from zonegate.errors import InvalidRequest, UpstreamError, UpstreamTimeout
from zonegate.providers.base import EmbeddingProvider
from zonegate.providers.openai_compat import OpenAICompatProvider
from zonegate.wire.openai_embeddings import EmbeddingRequest

pytestmark = pytest.mark.asyncio(loop_scope="session")

MIB = 1 << 20
Factory = Callable[..., Any]


@pytest_asyncio.fixture(loop_scope="session")
async def make(upstream: Upstream) -> AsyncIterator[Factory]:
    """Build and start providers against the upstream (or another URL); closed afterwards."""
    started: list[OpenAICompatProvider] = []

    async def build(
        model: str = "text-embedding-3-small", base_url: str | None = None, **settings: Any
    ) -> OpenAICompatProvider:
        config = compat_config(base_url or upstream.base_url, model, **settings)
        provider = OpenAICompatProvider("vendor-embed", config, resolve_secret)
        await provider.start()
        started.append(provider)
        return provider

    yield build
    for provider in started:
        await provider.aclose()


def embed_request(texts: str | list[str], **params: Any) -> EmbeddingRequest:
    return EmbeddingRequest.model_validate({"model": "caller-model", "input": texts, **params})


def marker() -> str:
    return f"marker-{uuid.uuid4().hex}"


def received_with(upstream: Upstream, text: str) -> list[dict[str, Any]]:
    return [r for r in upstream.received() if text in str((r["body"] or {}).get("input", ""))]


# -- success ---------------------------------------------------------------------------------------


async def test_vectors_come_back_in_input_order_with_usage(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make(model="text-embedding-3-small-2024")
    assert provider.capabilities.embeddings
    assert isinstance(provider, EmbeddingProvider)
    tag = marker()
    texts = [f"{tag} first document", "second", f"third one {tag}"]
    request = embed_request(
        texts, dimensions=4, user="u-1", metadata={"data_class": "internal"}, extra_field=True
    )
    result = await provider.embed(request)

    assert [d.index for d in result.data] == [0, 1, 2]
    assert [d.embedding for d in result.data] == [embedding_for(t, 4) for t in texts]
    assert result.model == "upstream-text-embedding-3-small-2024"  # as the upstream reported it
    assert result.usage.prompt_tokens == result.usage.total_tokens == 7  # words in the inputs

    [sent] = received_with(upstream, tag)
    assert sent["method"] == "POST"
    assert sent["path"] == "/v1/embeddings"
    assert sent["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
    body = sent["body"]
    assert body["model"] == "text-embedding-3-small-2024"  # the pinned name, not the caller's
    assert body["input"] == texts
    assert body["dimensions"] == 4
    assert body["user"] == "u-1"
    assert body["extra_field"] is True  # unknown fields are forwarded, as for chat
    assert "metadata" not in body  # the gateway's own labels stay in the gateway


async def test_a_single_string_and_the_default_dimensions(make: Factory) -> None:
    provider = await make()
    result = await provider.embed(embed_request("just one"))
    [item] = result.data
    assert item.embedding == embedding_for("just one")
    assert len(item.embedding) == EMBEDDING_DIMENSIONS


async def test_base64_vectors_are_passed_through_as_sent(make: Factory) -> None:
    provider = await make()
    result = await provider.embed(embed_request(["alpha", "beta"], encoding_format="base64"))
    for item, text in zip(result.data, ["alpha", "beta"], strict=True):
        assert isinstance(item.embedding, str)
        raw = base64.b64decode(item.embedding)
        decoded = struct.unpack(f"<{EMBEDDING_DIMENSIONS}f", raw)
        assert decoded == pytest.approx(embedding_for(text), abs=1e-6)


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (500, "upstream_server_error", False),
        (502, "upstream_unavailable", True),
        (503, "upstream_unavailable", True),
        (401, "upstream_auth_failed", False),
        (404, "upstream_not_found", False),
        (429, "upstream_rate_limited", True),
    ],
)
async def test_upstream_failures_are_upstream_errors(
    make: Factory, status: int, code: str, retryable: bool
) -> None:
    provider = await make(model=f"status-{status}")
    with pytest.raises(UpstreamError) as caught:
        await provider.embed(embed_request("hello"))
    error = caught.value
    assert type(error) is UpstreamError
    assert error.status == 502
    assert error.code == code
    assert error.retryable is retryable
    assert f"HTTP {status}" in error.message
    assert "simulated" not in error.message  # the upstream's body is not passed on


@pytest.mark.parametrize("status", [400, 413, 422])
async def test_requests_the_upstream_refuses_are_invalid_requests(
    make: Factory, status: int
) -> None:
    provider = await make(model=f"status-{status}")
    with pytest.raises(InvalidRequest) as caught:
        await provider.embed(embed_request("hello"))
    assert caught.value.status == 400
    assert caught.value.code == "upstream_rejected_request"
    assert f"simulated upstream failure (HTTP {status})" in caught.value.message


async def test_a_rate_limit_carries_retry_after_and_then_passes(
    upstream: Upstream, make: Factory
) -> None:
    provider = await make(model="burst-429-1-retry-0.2")
    caller = marker()
    with pytest.raises(UpstreamError) as caught:
        await provider.embed(embed_request("hello", user=caller))
    assert caught.value.code == "upstream_rate_limited"
    assert caught.value.retry_after == pytest.approx(0.2)
    result = await provider.embed(embed_request("hello", user=caller))
    assert result.data[0].embedding == embedding_for("hello")
    sent = [r for r in upstream.received() if (r["body"] or {}).get("user") == caller]
    assert [r["path"] for r in sent] == ["/v1/embeddings"] * 2


@pytest.mark.parametrize("fault", ["garbage", "malformed", "html"])
async def test_a_body_that_is_not_an_embeddings_list_is_a_bad_response(
    make: Factory, fault: str
) -> None:
    provider = await make(model=fault)
    with pytest.raises(UpstreamError) as caught:
        await provider.embed(embed_request("hello"))
    assert caught.value.code == "upstream_bad_response"
    assert caught.value.status == 502


@pytest.mark.parametrize("fault", ["reset", "reset-after-1"])
async def test_a_dropped_connection_is_a_connection_error(make: Factory, fault: str) -> None:
    provider = await make(model=fault)
    with pytest.raises(UpstreamError) as caught:
        await provider.embed(embed_request("hello"))
    assert caught.value.code == "upstream_connection_error"
    assert caught.value.retryable is False  # the request was sent: it may have been billed


async def test_a_slow_first_byte_past_the_read_timeout(make: Factory) -> None:
    provider = await make(model="firstbyte-5", timeouts=Timeouts(connect=2.0, read=0.3, total=20.0))
    with pytest.raises(UpstreamTimeout) as caught:
        await provider.embed(embed_request("hello"))
    assert caught.value.status == 504
    assert "timeouts.read" in caught.value.message


async def test_a_slow_answer_past_the_total_deadline(make: Factory) -> None:
    provider = await make(model="ttft-5", timeouts=Timeouts(connect=2.0, read=30.0, total=0.3))
    with pytest.raises(UpstreamTimeout, match=r"timeouts\.total"):
        await provider.embed(embed_request("hello"))


async def test_unreachable_upstream_is_retryable(make: Factory) -> None:
    provider = await make(base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(UpstreamError) as caught:
        await provider.embed(embed_request("hello"))
    assert caught.value.code == "upstream_unreachable"
    assert caught.value.retryable is True


# -- max_response_bytes ----------------------------------------------------------------------------


async def test_an_answer_over_max_response_bytes_is_refused(make: Factory) -> None:
    provider = await make(model="huge-4", max_response_bytes=MIB)
    with pytest.raises(UpstreamError) as caught:
        await provider.embed(embed_request("hello"))
    assert caught.value.code == "upstream_response_too_large"
    assert f"max_response_bytes ({MIB} bytes)" in caught.value.message


async def test_a_large_answer_within_max_response_bytes_is_read_whole(make: Factory) -> None:
    provider = await make(model="huge-0.5", max_response_bytes=MIB)
    result = await provider.embed(embed_request(["hello", "world"]))
    first, second = result.data
    assert isinstance(first.embedding, list)
    assert len(first.embedding) == (MIB // 2) // len(b"0.5, ")  # the whole vector arrived
    assert second.embedding == embedding_for("world")
