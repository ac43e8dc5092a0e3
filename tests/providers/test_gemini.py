"""The Gemini provider against a real Gemini-shaped upstream process: what Google's API
receives, how its answers read back (text, streams, tools, JSON, usage, finish reasons), and its
config and lifecycle. Failures are in ``test_gemini_errors``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pydantic import ValidationError

from tests.providers.conftest import UPSTREAM_KEY, compat_config, gemini_config, resolve_secret
from tests.providers.gemini_helpers import (
    MODEL,
    GeminiProviders,
    gemini_providers,
    received_with,
)
from tests.providers.vendor_support import (
    chat,
    check_lifecycle,
    check_malformed_header_refused,
    check_missing_credential_refused,
    collect,
    finishes_of,
    marker,
    text_of,
)
from tests.support.processes import Upstream
from zonegate.config.schema import GeminiProviderConfig
from zonegate.errors import InvalidRequest
from zonegate.providers.base import Provider, ProviderStartError
from zonegate.providers.gemini import GeminiProvider

pytestmark = pytest.mark.asyncio(loop_scope="session")

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": ["integer", "null"]},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@pytest_asyncio.fixture(loop_scope="session")
async def make(upstream: Upstream) -> AsyncIterator[GeminiProviders]:
    providers = gemini_providers(upstream)
    yield providers
    await providers.aclose()


def choose(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


# -- what Google's API receives -------------------------------------------------------------------


async def test_upstream_receives_the_request_with_the_pinned_model_and_key_header(
    upstream: Upstream, make: GeminiProviders
) -> None:
    provider = await make(headers={"X-Tenant": "env:ZG_TEST_TENANT", "X-Team": "search"})
    text = marker()
    request = chat(
        text,
        temperature=0.5,
        top_p=0.9,
        max_tokens=3,
        stop=["\n"],
        seed=7,
        metadata={"data_class": "internal"},
        user="someone",
    )
    response = await provider.complete(request)

    sent = received_with(upstream, text)
    assert sent["method"] == "POST"
    assert sent["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert sent["query"] == {}  # the key is never in the URL
    assert sent["body"] == {
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "generationConfig": {
            "temperature": 0.5,
            "topP": 0.9,
            "seed": 7,
            "maxOutputTokens": 3,
            "stopSequences": ["\n"],
        },
    }
    headers = sent["headers"]
    assert headers["x-goog-api-key"] == UPSTREAM_KEY
    assert "authorization" not in headers
    assert headers["x-tenant"] == "tenant-42"
    assert headers["x-team"] == "search"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("zonegate/")

    assert response.model == f"upstream-{MODEL}"  # Google's modelVersion
    assert response.id.startswith("resp-up")  # Google's responseId
    assert response.choices[0].message.content == "Hello from the"
    assert response.choices[0].finish_reason == "length"


async def test_stream_goes_to_the_sse_endpoint_with_the_key_in_a_header(
    upstream: Upstream, make: GeminiProviders
) -> None:
    provider = await make()
    text = marker()
    await collect(provider.stream(chat(text)))

    sent = received_with(upstream, text)
    assert sent["path"] == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert sent["query"] == {"alt": "sse"}
    assert sent["headers"]["x-goog-api-key"] == UPSTREAM_KEY


async def test_system_and_multi_turn_conversation(
    upstream: Upstream, make: GeminiProviders
) -> None:
    provider = await make()
    text = marker()
    messages = [
        {"role": "system", "content": "You answer questions about baking."},
        {"role": "user", "content": "What is sourdough?"},
        {"role": "assistant", "content": "Bread leavened with a fermented starter."},
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": text},
    ]
    multi = await provider.complete(chat(messages=messages))
    body = received_with(upstream, text)["body"]
    single = await provider.complete(chat("And what about bread?"))

    assert body["systemInstruction"] == {
        "parts": [{"text": "You answer questions about baking."}, {"text": "Be brief."}]
    }
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][1]["parts"] == [{"text": "Bread leavened with a fermented starter."}]
    assert multi.usage is not None
    assert single.usage is not None
    assert multi.usage.prompt_tokens > single.usage.prompt_tokens
    assert multi.choices[0].message.content == "Hello from the upstream."


async def test_echoes_content_both_ways(make: GeminiProviders) -> None:
    provider = await make(model="echo")
    text = "the quick brown fox eats café crème 🍞"
    response = await provider.complete(chat(text))
    assert response.choices[0].message.content == text
    assert text_of(await collect(provider.stream(chat(text)))) == text


# -- answers: text, streams, usage, finish reasons ------------------------------------------------


async def test_complete_reads_text_usage_and_stop(make: GeminiProviders) -> None:
    provider = await make()
    response = await provider.complete(chat("one two three"))

    [choice] = response.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello from the upstream."
    assert choice.finish_reason == "stop"
    assert choice.model_extra is not None
    assert choice.model_extra["native_finish_reason"] == "STOP"
    assert response.usage is not None
    # the upstream counts words: 3 in the prompt, one more per turn; 4 in the answer
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (4, 4)
    assert response.usage.total_tokens == 8


async def test_stream_sends_text_then_finish_then_usage(make: GeminiProviders) -> None:
    provider = await make()
    request = chat("one two three")
    chunks = await collect(provider.stream(request))
    complete = await provider.complete(request)

    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([c for c in chunks if text_of([c])]) == 4  # one event per word
    assert text_of(chunks) == complete.choices[0].message.content
    assert finishes_of(chunks) == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage == complete.usage
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert {chunk.model for chunk in chunks} == {f"upstream-{MODEL}"}
    assert len({chunk.id for chunk in chunks}) == 1


async def test_token_limit_finishes_with_length_both_ways(make: GeminiProviders) -> None:
    provider = await make()
    response = await provider.complete(chat(max_completion_tokens=2))
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None
    assert response.usage.completion_tokens == 2

    chunks = await collect(provider.stream(chat(max_tokens=1)))
    assert finishes_of(chunks) == ["length"]
    assert text_of(chunks) == "Hello"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 1


# -- tools ----------------------------------------------------------------------------------------


async def test_tools_are_declared_in_gemini_form(upstream: Upstream, make: GeminiProviders) -> None:
    provider = await make()
    text = marker()
    await provider.complete(chat(text, tools=[WEATHER_TOOL], tool_choice=choose("get_weather")))

    body = received_with(upstream, text)["body"]
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Current weather in a city.",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {
                            "city": {"type": "STRING"},
                            "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]},
                            "days": {"type": "INTEGER", "nullable": True},
                        },
                        "required": ["city"],
                    },
                }
            ]
        }
    ]
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }


async def test_function_call_becomes_a_tool_call(make: GeminiProviders) -> None:
    provider = await make(model="tool")
    response = await provider.complete(chat("Weather in Paris?", tools=[WEATHER_TOOL]))

    [choice] = response.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "example", "unit": "celsius", "days": 1}


async def test_streamed_function_call_becomes_a_tool_call_delta(make: GeminiProviders) -> None:
    provider = await make(model="tool")
    chunks = await collect(provider.stream(chat("Weather in Paris?", tools=[WEATHER_TOOL])))

    deltas = [d for chunk in chunks for c in chunk.choices for d in c.delta.tool_calls or []]
    [delta] = deltas
    assert delta["index"] == 0
    assert delta["id"].startswith("call_")
    assert delta["function"]["name"] == "get_weather"
    assert json.loads(delta["function"]["arguments"])["city"] == "example"
    assert finishes_of(chunks) == ["tool_calls"]
    assert text_of(chunks) == ""
    assert chunks[-1].usage is not None


async def test_tool_results_go_back_as_function_responses(
    upstream: Upstream, make: GeminiProviders
) -> None:
    provider = await make()
    text = marker()
    first = await (await make(model="tool")).complete(chat(text, tools=[WEATHER_TOOL]))
    [call] = first.choices[0].message.tool_calls or []
    messages = [
        {"role": "user", "content": text},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21}'},
    ]
    response = await provider.complete(chat(messages=messages, tools=[WEATHER_TOOL]))

    [_, record] = [
        r for r in upstream.received() if text in json.dumps((r["body"] or {}).get("contents", ""))
    ]
    contents = record["body"]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    [call_part] = contents[1]["parts"]
    args = json.loads(call.function.arguments)
    assert call_part["functionCall"] == {"name": "get_weather", "args": args}
    assert call_part["thoughtSignature"] == "skip_thought_signature_validator"
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"temperature": 21}}}
    ]
    assert response.choices[0].finish_reason == "stop"


# -- JSON mode ------------------------------------------------------------------------------------


async def test_json_mode_asks_google_for_json(upstream: Upstream, make: GeminiProviders) -> None:
    provider = await make(model="echo")
    label = marker()
    text = json.dumps({"marker": label, "ok": True})
    response = await provider.complete(chat(text, response_format={"type": "json_object"}))

    config = received_with(upstream, label)["body"]["generationConfig"]
    assert config == {"responseMimeType": "application/json"}
    assert json.loads(response.choices[0].message.content or "") == json.loads(text)


async def test_json_schema_becomes_a_response_schema(
    upstream: Upstream, make: GeminiProviders
) -> None:
    provider = await make()
    text = marker()
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        "required": ["name"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "cat", "schema": schema}}
    await provider.complete(chat(text, response_format=response_format))

    config = received_with(upstream, text)["body"]["generationConfig"]
    assert config == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "OBJECT",
            "properties": {"name": {"type": "STRING"}, "age": {"type": "INTEGER", "minimum": 0}},
            "required": ["name"],
        },
    }


async def test_what_gemini_cannot_take_is_refused_before_sending(
    upstream: Upstream, make: GeminiProviders
) -> None:
    provider = await make()
    text = marker()
    with pytest.raises(InvalidRequest) as caught:
        await provider.complete(chat(text, logprobs=True))
    assert caught.value.param == "logprobs"
    stream = provider.stream(chat(text, response_format={"type": "xml"}))
    with pytest.raises(InvalidRequest) as caught_stream:
        await anext(stream)
    assert caught_stream.value.param == "response_format"
    await stream.aclose()
    assert not [r for r in upstream.received() if text in json.dumps(r["body"])]


# -- config, start and lifecycle ------------------------------------------------------------------


async def test_provider_implements_the_protocol(make: GeminiProviders) -> None:
    provider = await make()
    assert isinstance(provider, Provider)
    assert provider.capabilities.streaming
    assert provider.capabilities.tools
    assert provider.capabilities.json_mode
    assert not provider.capabilities.embeddings


async def test_config_defaults_to_googles_endpoint() -> None:
    config = GeminiProviderConfig(type="gemini", model=MODEL, api_key="env:GEMINI_API_KEY")
    assert config.base_url == "https://generativelanguage.googleapis.com/v1beta"


@pytest.mark.parametrize(
    "settings",
    [
        {"api_key": "AIza-literal-key"},  # credentials are references
        {"base_url": "https://generativelanguage.googleapis.com/v1beta?key=env:K"},
        {"model": "models/gemini-2.5-flash"},
        {"model": "gemini/../../v1/files"},
        {"headers": {"x-goog-api-key": "AIza-literal"}},
    ],
)
async def test_config_refuses_keys_in_the_open_and_odd_model_names(
    settings: dict[str, Any],
) -> None:
    values = {"type": "gemini", "model": MODEL, "api_key": "env:GEMINI_API_KEY", **settings}
    with pytest.raises(ValidationError):
        GeminiProviderConfig.model_validate(values)


async def test_missing_credential_refuses_to_start_naming_the_reference() -> None:
    config = gemini_config("http://127.0.0.1:9/v1beta", api_key="env:ZG_TEST_NOT_SET")
    await check_missing_credential_refused(GeminiProvider("gemini-test", config, resolve_secret))


async def test_malformed_header_refuses_to_start() -> None:
    config = gemini_config("http://127.0.0.1:9/v1beta", headers={"X-Team": "a\r\nX-Injected: 1"})
    await check_malformed_header_refused(GeminiProvider("gemini-test", config, resolve_secret))


async def test_lifecycle(make: GeminiProviders) -> None:
    await check_lifecycle(await make())


async def test_rejects_another_providers_config() -> None:
    with pytest.raises(ProviderStartError, match="needs a 'gemini' provider config"):
        GeminiProvider("x", compat_config("http://127.0.0.1:9/v1"), resolve_secret)
