"""Embeddings from the real SmolLM2 weights in embeddings mode."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio

from tests.providers.conftest import llama_config
from zonegate.config.credentials import resolve_secret
from zonegate.errors import InvalidRequest
from zonegate.providers.llamacpp import LlamaCppProvider
from zonegate.wire.openai_chat import ChatCompletionRequest
from zonegate.wire.openai_embeddings import EmbeddingRequest

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def embedder() -> AsyncIterator[LlamaCppProvider]:
    provider = LlamaCppProvider("smollm2-embed", llama_config(embeddings=True), resolve_secret)
    await provider.start()
    yield provider
    await provider.aclose()


def request(inputs: str | list[str], **extra: object) -> EmbeddingRequest:
    return EmbeddingRequest.model_validate({"model": "caller-name", "input": inputs, **extra})


async def test_one_unit_vector_per_input_with_usage(embedder: LlamaCppProvider) -> None:
    assert embedder.capabilities.embeddings is True
    result = await embedder.embed(request(["the cat sat on the mat", "quarterly tax report"]))
    assert [d.index for d in result.data] == [0, 1]
    vectors = [np.asarray(d.embedding) for d in result.data]
    assert all(v.shape == (576,) for v in vectors)
    assert all(abs(float(np.linalg.norm(v)) - 1.0) < 1e-5 for v in vectors)
    assert not np.allclose(vectors[0], vectors[1])
    assert result.usage.prompt_tokens > 0
    assert result.model == embedder.served_model == "SmolLM2-135M-Instruct.Q4_1"


async def test_the_same_text_gives_the_same_vector_in_either_encoding(
    embedder: LlamaCppProvider,
) -> None:
    floats = await embedder.embed(request("hello world"))
    packed = await embedder.embed(request("hello world", encoding_format="base64"))
    assert isinstance(packed.data[0].embedding, str)
    decoded = np.frombuffer(base64.b64decode(packed.data[0].embedding), dtype="<f4")
    assert np.allclose(decoded, np.asarray(floats.data[0].embedding), atol=1e-6)


async def test_unsupported_requests_are_refused_clearly(embedder: LlamaCppProvider) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await embedder.embed(request("x", dimensions=64))
    assert caught.value.param == "dimensions"
    chat = ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    )
    with pytest.raises(InvalidRequest) as refused:
        await embedder.complete(chat)
    assert refused.value.code == "chat_unsupported"
