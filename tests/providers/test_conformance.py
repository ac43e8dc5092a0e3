"""The conformance suite every provider passes: same requests, same assertions.

``openai_compat`` runs against a real upstream server process; ``llamacpp`` against the real
SmolLM2 model. Provider-specific behaviour (errors, cancellation internals) lives in each
provider's own test module. No provider opts out of any test here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from zonegate.providers.base import Provider
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUESTION = "Write a short story about a dragon who learns to bake bread."


@pytest.fixture(
    params=[
        pytest.param("openai_compat"),
        pytest.param("llamacpp", marks=pytest.mark.model),
    ]
)
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.getfixturevalue(f"{request.param}_provider")  # type: ignore[no-any-return]


def chat(*messages: tuple[str, str], **params: Any) -> ChatCompletionRequest:
    params.setdefault("temperature", 0)
    params.setdefault("max_tokens", 12)
    return ChatCompletionRequest.model_validate(
        {
            "model": "caller-chosen-name",
            "messages": [{"role": role, "content": content} for role, content in messages],
            **params,
        }
    )


async def collect(provider: Provider, request: ChatCompletionRequest) -> list[ChatCompletionChunk]:
    return [chunk async for chunk in provider.stream(request)]


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.delta.content or "" for chunk in chunks for c in chunk.choices)


def usage_of(response: ChatCompletion) -> tuple[int, int, int]:
    assert response.usage is not None
    u = response.usage
    return u.prompt_tokens, u.completion_tokens, u.total_tokens


async def test_declares_capabilities(provider: Provider) -> None:
    assert isinstance(provider, Provider)
    assert provider.capabilities.streaming is True
    assert provider.model_id


async def test_complete_returns_text_and_usage(provider: Provider) -> None:
    response = await provider.complete(chat(("user", QUESTION)))

    assert response.id
    assert response.model
    assert response.model != "caller-chosen-name"
    [choice] = response.choices
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str)
    assert choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    prompt, completion, total = usage_of(response)
    assert prompt > 0
    assert completion > 0
    assert total == prompt + completion


async def test_served_model_does_not_depend_on_the_callers_model_name(provider: Provider) -> None:
    first = await provider.complete(chat(("user", QUESTION), max_tokens=2))
    other = chat(("user", QUESTION), max_tokens=2).model_copy(update={"model": "another-name"})
    second = await provider.complete(other)
    assert first.model == second.model


async def test_system_prompt_reaches_the_model(provider: Provider) -> None:
    short = await provider.complete(chat(("system", "Be brief."), ("user", QUESTION)))
    long_system = "You are a meticulous assistant. " * 12
    longer = await provider.complete(chat(("system", long_system), ("user", QUESTION)))

    assert usage_of(longer)[0] > usage_of(short)[0]
    assert longer.choices[0].message.content


async def test_multi_turn_conversation(provider: Provider) -> None:
    single = await provider.complete(chat(("user", "And what about bread?")))
    multi = await provider.complete(
        chat(
            ("system", "You answer questions about baking."),
            ("user", "What is sourdough?"),
            ("assistant", "Sourdough is bread leavened with a fermented starter."),
            ("user", "And what about bread?"),
        )
    )
    assert usage_of(multi)[0] > usage_of(single)[0]
    assert multi.choices[0].message.content


async def test_stream_matches_complete(provider: Provider) -> None:
    request = chat(("user", QUESTION), max_tokens=10)
    complete = await provider.complete(request)
    chunks = await collect(provider, request)

    assert len(chunks) >= 2
    assert text_of(chunks) == complete.choices[0].message.content
    finishes = [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]
    assert finishes == [complete.choices[0].finish_reason]
    assert all(chunk.model == chunks[0].model for chunk in chunks)


async def test_stream_ends_with_usage(provider: Provider) -> None:
    chunks = await collect(provider, chat(("user", QUESTION), max_tokens=6))

    usage = chunks[-1].usage
    assert usage is not None
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert all(chunk.usage is None for chunk in chunks[:-1])
    # the finish reason comes before the usage chunk
    assert any(c.finish_reason for chunk in chunks[:-1] for c in chunk.choices)


async def test_max_tokens_one_finishes_with_length(provider: Provider) -> None:
    response = await provider.complete(chat(("user", QUESTION), max_tokens=1))
    assert response.choices[0].finish_reason == "length"
    assert usage_of(response)[1] == 1

    chunks = await collect(provider, chat(("user", QUESTION), max_tokens=1))
    finishes = [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]
    assert finishes == ["length"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 1


async def test_max_completion_tokens_is_honoured(provider: Provider) -> None:
    request = chat(("user", QUESTION), max_tokens=None, max_completion_tokens=3)
    response = await provider.complete(request)
    assert response.choices[0].finish_reason == "length"
    assert usage_of(response)[1] == 3


async def test_closing_a_stream_early_leaves_the_provider_usable(provider: Provider) -> None:
    stream = provider.stream(chat(("user", QUESTION), max_tokens=40))
    first = await anext(stream)
    assert first.choices
    await stream.aclose()  # type: ignore[attr-defined]

    response = await provider.complete(chat(("user", QUESTION), max_tokens=3))
    assert response.choices[0].message.content


async def test_concurrent_requests_all_complete(provider: Provider) -> None:
    request = chat(("user", QUESTION), max_tokens=4)
    responses = await asyncio.gather(*(provider.complete(request) for _ in range(4)))
    contents = {r.choices[0].message.content for r in responses}
    assert len(contents) == 1  # temperature 0: the same answer every time
    assert contents != {""}
