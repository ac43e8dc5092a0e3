"""The conformance suite every provider passes: same requests, same assertions.

``openai_compat``, ``gemini`` and ``anthropic`` run against a real upstream server process
(speaking each one's wire format); ``llamacpp`` against the real SmolLM2 model.
Provider-specific behaviour (what the upstream receives, every error mapping, cancellation
internals) lives in each provider's own test module.

Opt-outs are explicit, and none is a skip:

- A feature a provider may lack (tools, JSON mode, streaming) is tested on every provider. One
  that does not declare the feature in its ``Capabilities`` must refuse a request using it with
  ``InvalidRequest`` naming the parameter, in ``complete`` and ``stream`` alike, and the test
  asserts that refusal instead (today: ``llamacpp`` declares no tools).
- Failure tests need an upstream that misbehaves on request (the upstream server's directives,
  chosen by the upstream model name), so they run over the targets that have one (``Target``'s
  ``config`` is set). ``llamacpp`` runs in-process and has none; its failures (a prompt over the
  context window, refused parameters) are asserted in ``test_llamacpp``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from tests.providers.conftest import (
    anthropic_config,
    compat_config,
    gemini_base_url,
    gemini_config,
    resolve_secret,
)
from tests.support.processes import Upstream
from zonegate.config.schema import ModelConfig
from zonegate.errors import InvalidRequest, UpstreamError
from zonegate.providers.base import Provider
from zonegate.providers.registry import ProviderRegistry
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUESTION = "Write a short story about a dragon who learns to bake bread."
SHORT_QUESTION = "What is 2+2?"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
# Valid JSON itself, so an upstream that echoes it answers in JSON as a model in JSON mode does.
JSON_PROMPT = '{"task": "Describe the city of Paris as a JSON object", "city": "Paris"}'


@dataclass(frozen=True)
class Target:
    """A provider type under test; ``config`` builds one against the upstream server process
    for an upstream model name (which picks the upstream's behaviour), None for in-process."""

    name: str
    config: Callable[[Upstream, str, dict[str, str]], ModelConfig] | None


def _compat(upstream: Upstream, model: str, headers: dict[str, str]) -> ModelConfig:
    return compat_config(upstream.base_url, model, headers=headers)


def _gemini(upstream: Upstream, model: str, headers: dict[str, str]) -> ModelConfig:
    return gemini_config(gemini_base_url(upstream), model, headers=headers)


def _anthropic(upstream: Upstream, model: str, headers: dict[str, str]) -> ModelConfig:
    return anthropic_config(upstream.base_url, model, headers=headers)


OPENAI_COMPAT = Target("openai_compat", _compat)
GEMINI = Target("gemini", _gemini)
ANTHROPIC = Target("anthropic", _anthropic)
LLAMACPP = Target("llamacpp", None)
ALL = [
    pytest.param(OPENAI_COMPAT, id="openai_compat"),
    pytest.param(GEMINI, id="gemini"),
    pytest.param(ANTHROPIC, id="anthropic"),
    pytest.param(LLAMACPP, id="llamacpp", marks=pytest.mark.model),
]
REMOTE = [
    pytest.param(OPENAI_COMPAT, id="openai_compat"),
    pytest.param(GEMINI, id="gemini"),
    pytest.param(ANTHROPIC, id="anthropic"),
]

Acting = Callable[[str], Awaitable[Provider]]


@pytest.fixture(params=ALL)
def target(request: pytest.FixtureRequest) -> Target:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=REMOTE)
def remote(request: pytest.FixtureRequest) -> Target:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def provider(target: Target, request: pytest.FixtureRequest) -> Provider:
    """The target's well-behaved provider, shared by the session."""
    return request.getfixturevalue(f"{target.name}_provider")  # type: ignore[no-any-return]


class Builder:
    """``await acting("tool")``: a provider of the target's type, built through the entry points,
    whose upstream answers as that model name asks (see ``tests.support.upstream_faults``).
    The in-process model needs no directive: it is the shared provider, answering as itself."""

    def __init__(self, target: Target, upstream: Upstream | None, shared: Provider | None) -> None:
        self._target = target
        self._upstream = upstream
        self._shared = shared
        self._started: list[Provider] = []
        self._burst_owner = {"x-test-id": uuid.uuid4().hex}  # this test's own burst counts

    async def __call__(self, model: str) -> Provider:
        if self._shared is not None:
            return self._shared
        assert self._target.config is not None
        assert self._upstream is not None
        config = self._target.config(self._upstream, model, self._burst_owner)
        name = f"{self._target.name}-{model}"
        provider = ProviderRegistry().build(name, config, resolve_secret)
        await provider.start()
        self._started.append(provider)
        return provider

    async def aclose(self) -> None:
        for provider in self._started:
            await provider.aclose()


@pytest.fixture
def builder(target: Target, request: pytest.FixtureRequest) -> Builder:
    """Resolved outside the event loop, where session fixtures can still be set up."""
    if target.config is None:
        return Builder(target, None, request.getfixturevalue(f"{target.name}_provider"))
    return Builder(target, request.getfixturevalue("upstream"), None)


@pytest_asyncio.fixture(loop_scope="session")
async def acting(builder: Builder) -> AsyncIterator[Acting]:
    yield builder
    await builder.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def failing(remote: Target, upstream: Upstream) -> AsyncIterator[Acting]:
    """As ``acting``, over the targets with an upstream that can be told to fail."""
    builder = Builder(remote, upstream, None)
    yield builder
    await builder.aclose()


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


async def drain(
    provider: Provider, request: ChatCompletionRequest, into: list[ChatCompletionChunk]
) -> None:
    """Read a stream into ``into``, so what came before a failure can be looked at."""
    async for chunk in provider.stream(request):
        into.append(chunk)


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.delta.content or "" for chunk in chunks for c in chunk.choices)


def finishes_of(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]


def tool_calls_of(chunks: list[ChatCompletionChunk]) -> list[dict[str, str]]:
    """Streamed tool calls put back together: a call's id, type and name come once, its
    arguments in pieces (whole, for some providers), all under the call's ``index``."""
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta["index"], {"arguments": ""})
                function = delta.get("function") or {}
                for key, value in (("id", delta.get("id")), ("name", function.get("name"))):
                    if value:
                        call[key] = value
                call["arguments"] += function.get("arguments") or ""
    return [calls[i] for i in sorted(calls)]


async def assert_refused(provider: Provider, request: ChatCompletionRequest, param: str) -> None:
    """What a provider must do with a feature it does not declare: refuse it, both ways."""
    with pytest.raises(InvalidRequest) as caught:
        await provider.complete(request)
    assert caught.value.param == param
    stream = provider.stream(request)
    with pytest.raises(InvalidRequest) as caught_stream:
        await anext(stream)
    assert caught_stream.value.param == param
    await stream.aclose()  # type: ignore[attr-defined]


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


# -- finish reasons -------------------------------------------------------------------------------


async def test_an_answer_that_ends_by_itself_finishes_with_stop(provider: Provider) -> None:
    request = chat(("user", SHORT_QUESTION), max_tokens=64)
    response = await provider.complete(request)
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].message.content

    chunks = await collect(provider, request)
    assert finishes_of(chunks) == ["stop"]
    assert text_of(chunks) == response.choices[0].message.content


# -- tools ----------------------------------------------------------------------------------------


def weather_question() -> ChatCompletionRequest:
    return chat(("user", "What is the weather in Paris?"), tools=[WEATHER_TOOL], max_tokens=64)


async def test_tool_call_in_a_completion(acting: Acting) -> None:
    provider = await acting("tool")
    if not provider.capabilities.tools:
        await assert_refused(provider, weather_question(), "tools")
        return
    response = await provider.complete(weather_question())

    [choice] = response.choices
    assert choice.finish_reason == "tool_calls"
    assert not choice.message.content
    [call] = choice.message.tool_calls or []
    assert call.id
    assert call.type == "function"
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments["city"], str)


async def test_tool_call_in_a_stream(acting: Acting) -> None:
    provider = await acting("tool")
    if not provider.capabilities.tools:
        await assert_refused(provider, weather_question(), "tools")
        return
    chunks = await collect(provider, weather_question())

    [call] = tool_calls_of(chunks)
    assert call["id"]
    assert call["name"] == "get_weather"
    assert isinstance(json.loads(call["arguments"])["city"], str)
    assert finishes_of(chunks) == ["tool_calls"]
    assert text_of(chunks) == ""
    assert chunks[-1].usage is not None


async def test_tool_results_in_the_conversation_are_answered(provider: Provider) -> None:
    function = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    call = {"id": "call_1", "type": "function", "function": function}
    request = ChatCompletionRequest.model_validate(
        {
            "model": "caller-chosen-name",
            "messages": [
                {"role": "user", "content": "What is the weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 21}'},
            ],
            "temperature": 0,
            "max_tokens": 12,
        }
    )
    response = await provider.complete(request)
    assert response.choices[0].message.content
    assert response.choices[0].finish_reason in ("stop", "length")


# -- JSON mode ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response_format",
    [
        pytest.param({"type": "json_object"}, id="json_object"),
        pytest.param(
            {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY_SCHEMA}},
            id="json_schema",
        ),
    ],
)
async def test_json_mode_answers_in_json(acting: Acting, response_format: dict[str, Any]) -> None:
    provider = await acting("echo")
    request = chat(("user", JSON_PROMPT), response_format=response_format, max_tokens=64)
    if not provider.capabilities.json_mode:
        await assert_refused(provider, request, "response_format")
        return
    response = await provider.complete(request)
    assert response.choices[0].finish_reason == "stop"
    answer = json.loads(response.choices[0].message.content or "")
    assert isinstance(answer["city"], str)

    chunks = await collect(provider, request)
    assert json.loads(text_of(chunks)) == answer


# -- failures (targets with an upstream) ----------------------------------------------------------


async def test_an_unavailable_upstream_is_a_retryable_upstream_error(failing: Acting) -> None:
    provider = await failing("status-503")
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(chat(("user", QUESTION)))
    assert caught.value.status == 502
    assert caught.value.code == "upstream_unavailable"
    assert caught.value.retryable is True

    stream = provider.stream(chat(("user", QUESTION)))
    with pytest.raises(UpstreamError) as caught_stream:
        await anext(stream)
    assert caught_stream.value.code == "upstream_unavailable"
    assert caught_stream.value.retryable is True
    await stream.aclose()  # type: ignore[attr-defined]


async def test_a_burst_of_failures_is_followed_by_answers(failing: Acting) -> None:
    provider = await failing("burst-429-1-retry-2")
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(chat(("user", QUESTION)))
    assert caught.value.code == "upstream_rate_limited"
    assert caught.value.retryable is True
    assert caught.value.retry_after == 2.0
    response = await provider.complete(chat(("user", QUESTION)))
    assert response.choices[0].message.content


async def test_a_request_the_upstream_refuses_is_an_invalid_request(failing: Acting) -> None:
    provider = await failing("status-400")
    with pytest.raises(InvalidRequest) as caught:
        await provider.complete(chat(("user", QUESTION)))
    assert caught.value.status == 400
    assert "simulated upstream failure (HTTP 400)" in caught.value.message  # the reason is kept

    stream = provider.stream(chat(("user", QUESTION)))
    with pytest.raises(InvalidRequest):
        await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]


async def test_a_malformed_answer_is_an_upstream_error(failing: Acting) -> None:
    provider = await failing("malformed")
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(chat(("user", QUESTION)))
    assert caught.value.code == "upstream_bad_response"


async def test_an_error_event_mid_stream_is_an_upstream_error(failing: Acting) -> None:
    provider = await failing("stream-error")
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError) as caught:
        await drain(provider, chat(("user", QUESTION)), into=received)
    assert caught.value.code == "upstream_stream_error"
    assert text_of(received)  # what came before the error was delivered


async def test_a_truncated_stream_is_an_error_not_a_short_answer(failing: Acting) -> None:
    provider = await failing("truncate-2")
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamError) as caught:
        await drain(provider, chat(("user", QUESTION)), into=received)
    assert caught.value.code == "upstream_bad_response"
    assert text_of(received)
    assert finishes_of(received) == []
