"""One vendor's SDK, through the gateway, to another vendor's upstream, and back.

The openai SDK talks to Anthropic- and Gemini-shaped upstreams, the anthropic SDK to OpenAI- and
Gemini-shaped ones; each answer must parse as the calling SDK's own response types (the SDKs
validate what they receive), plain, streamed and with tool calls. The upstreams are one real
server process speaking all three wire formats, each checked against its own SDK in
tests/integration/test_upstream_server.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.integration.gateway_process import GatewayProcess, run_gateway
from tests.support.processes import Upstream, start_upstream

pytestmark = pytest.mark.integration

REPLY = "Forty-two, as always."
# model id -> (provider type, base path, upstream model); "tool" makes the upstream call a tool
MODELS = {
    "gpt": ("openai_compat", "/v1", "gpt-x"),
    "gpt-tools": ("openai_compat", "/v1", "tool"),
    "claude": ("anthropic", "/v1", "claude-x"),
    "claude-tools": ("anthropic", "/v1", "tool"),
    "gemini": ("gemini", "/v1beta", "gemini-x"),
    "gemini-tools": ("gemini", "/v1beta", "tool"),
}


def config_for(upstream: Upstream) -> dict[str, Any]:
    return {
        "zones": {"vendor": {"operator": "acme", "ceiling": "internal"}},
        "models": {
            model_id: {
                "zone": "vendor",
                "provider": {
                    "type": kind,
                    "base_url": upstream.process.url + path,
                    "model": name,
                    "api_key": "env:K",
                },
            }
            for model_id, (kind, path, name) in MODELS.items()
        },
        "teams": {"default": {"models": ["*"]}},
    }


PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
OPENAI_TOOL: Any = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": PARAMETERS},
}
ANTHROPIC_TOOL: Any = {"name": "get_weather", "description": "Weather", "input_schema": PARAMETERS}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with start_upstream(tmp_path_factory.mktemp("up"), reply=REPLY) as up:
        yield up


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("gw")
    config = tmp / "zonegate.yaml"
    config.write_text(json.dumps(config_for(upstream)))  # JSON is YAML
    with run_gateway(tmp, config=config, env={"K": "upstream-key"}) as gw:
        yield gw


@pytest.fixture
def oai(gateway: GatewayProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=gateway.key, max_retries=0) as c:
        yield c


@pytest.fixture
def claude_sdk(gateway: GatewayProcess) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as c:
        yield c


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_openai_sdk_to_other_vendors(oai: openai.OpenAI, upstream: Upstream, model: str) -> None:
    seen = len(upstream.received())
    reply = oai.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "The answer?"},
        ],
    )
    assert reply.choices[0].message.content == REPLY
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0
    [request] = upstream.received()[seen:]
    assert request["path"].endswith("/messages" if model == "claude" else ":generateContent")

    chunks = list(
        oai.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "stream"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("model", ["claude-tools", "gemini-tools"])
def test_openai_sdk_tool_calls_from_other_vendors(oai: openai.OpenAI, model: str) -> None:
    messages: Any = [{"role": "user", "content": "Weather in Lisbon?"}]
    reply = oai.chat.completions.create(model=model, messages=messages, tools=[OPENAI_TOOL])
    assert reply.choices[0].finish_reason == "tool_calls"
    [call] = reply.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert "city" in json.loads(call.function.arguments)  # type: ignore[union-attr]

    arguments = ""
    for chunk in oai.chat.completions.create(
        model=model, messages=messages, tools=[OPENAI_TOOL], stream=True
    ):
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                arguments += (delta.function.arguments or "") if delta.function else ""
    assert "city" in json.loads(arguments)


@pytest.mark.parametrize("model", ["gpt", "gemini"])
def test_anthropic_sdk_to_other_vendors(claude_sdk: anthropic.Anthropic, model: str) -> None:
    message = claude_sdk.messages.create(
        model=model,
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "The answer?"}],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0

    with claude_sdk.messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "stream"}]
    ) as stream:
        assert "".join(stream.text_stream) == REPLY
        assert stream.get_final_message().stop_reason == "end_turn"


@pytest.mark.parametrize("model", ["gpt-tools", "gemini-tools"])
def test_anthropic_sdk_tool_use_from_other_vendors(
    claude_sdk: anthropic.Anthropic, model: str
) -> None:
    message = claude_sdk.messages.create(
        model=model,
        max_tokens=64,
        tools=[ANTHROPIC_TOOL],
        messages=[{"role": "user", "content": "Weather in Lisbon?"}],
    )
    assert message.stop_reason == "tool_use"
    [use] = [b for b in message.content if b.type == "tool_use"]
    assert use.name == "get_weather"
    assert "city" in use.input  # type: ignore[operator]

    with claude_sdk.messages.stream(
        model=model,
        max_tokens=64,
        tools=[ANTHROPIC_TOOL],
        messages=[{"role": "user", "content": "Weather in Lisbon?"}],
    ) as stream:
        final = stream.get_final_message()
    [streamed] = [b for b in final.content if b.type == "tool_use"]
    assert "city" in streamed.input  # type: ignore[operator]
