"""Real clients against a real gateway process: the openai SDK (sync, async, streaming, tools),
LangChain's ChatOpenAI and plain curl, each pointed at zonegate as docs/api.md says."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI

from tests.integration.gateway_process import GatewayProcess, free_port, run_gateway, zonegate
from tests.support.processes import Upstream, start_upstream

pytestmark = pytest.mark.integration

REPLY = "The answer is forty-two."
CONFIG = """
zones:
  vendor: {{operator: acme, ceiling: internal}}
models:
  vendor-chat:
    zone: vendor
    provider: {{type: openai_compat, base_url: "{base}", model: chat-model, api_key: env:UP_KEY}}
  vendor-tools:
    zone: vendor
    provider: {{type: openai_compat, base_url: "{base}", model: tool, api_key: env:UP_KEY}}
routes:
  assistant: {{candidates: [vendor-chat]}}
  agent: {{candidates: [vendor-tools]}}
teams:
  default: {{routes: ["*"]}}
"""
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


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
    config.write_text(CONFIG.format(base=upstream.base_url))
    with run_gateway(tmp, config=config, env={"UP_KEY": "upstream-secret"}) as gw:
        yield gw


def sdk(gw: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.base_url}/v1", api_key=gw.key, max_retries=0)


def test_openai_sdk_sync(gateway: GatewayProcess) -> None:
    with sdk(gateway) as client:
        reply = client.chat.completions.create(
            model="assistant", messages=[{"role": "user", "content": "What is the answer?"}]
        )
        assert reply.choices[0].message.content == REPLY
        assert reply.usage is not None
        assert reply.usage.completion_tokens == len(REPLY.split())
        raw = client.chat.completions.with_raw_response.create(
            model="assistant", messages=[{"role": "user", "content": "again"}]
        )
        assert raw.headers["x-zonegate-model"] == "vendor-chat"
        assert raw.headers["x-zonegate-request-id"]


async def test_openai_sdk_async_streaming(gateway: GatewayProcess) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=gateway.key, max_retries=0
    ) as client:
        stream = await client.chat.completions.create(
            model="assistant",
            messages=[{"role": "user", "content": "stream it"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces, usage = [], None
        async for chunk in stream:
            pieces += [c.delta.content or "" for c in chunk.choices]
            usage = chunk.usage or usage
        assert "".join(pieces) == REPLY
        assert usage is not None
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_openai_sdk_tools_plain_and_streamed(gateway: GatewayProcess) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Lisbon?"}]
    with sdk(gateway) as client:
        reply = client.chat.completions.create(
            model="agent", messages=messages, tools=[WEATHER_TOOL]
        )
        [call] = reply.choices[0].message.tool_calls or []
        assert reply.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "get_weather"  # type: ignore[union-attr]
        assert "city" in json.loads(call.function.arguments)  # type: ignore[union-attr]

        names, arguments = set(), ""
        for chunk in client.chat.completions.create(
            model="agent", messages=messages, tools=[WEATHER_TOOL], stream=True
        ):
            for choice in chunk.choices:
                for delta in choice.delta.tool_calls or []:
                    if delta.function and delta.function.name:
                        names.add(delta.function.name)
                    if delta.function and delta.function.arguments:
                        arguments += delta.function.arguments
        assert names == {"get_weather"}
        assert "city" in json.loads(arguments)


def test_openai_sdk_sees_gateway_errors_as_api_errors(gateway: GatewayProcess) -> None:
    with sdk(gateway) as client:
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(
                model="no-such-route", messages=[{"role": "user", "content": "hi"}]
            )
        assert missing.value.code == "model_not_found"
        bad = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="zg-wrong", max_retries=0)
        with bad, pytest.raises(openai.AuthenticationError):
            bad.chat.completions.create(
                model="assistant", messages=[{"role": "user", "content": "hi"}]
            )


def test_langchain_chat_openai(gateway: GatewayProcess) -> None:
    llm = ChatOpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=gateway.key, model="assistant", max_retries=0
    )
    answer = llm.invoke("What is the answer?")
    assert isinstance(answer, AIMessage)
    assert answer.content == REPLY
    assert "".join(str(part.content) for part in llm.stream("and streamed?")) == REPLY

    agent = ChatOpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=gateway.key, model="agent", max_retries=0
    ).bind_tools([WEATHER_TOOL])
    called = agent.invoke("Weather in Lisbon?")
    assert isinstance(called, AIMessage)
    assert [c["name"] for c in called.tool_calls] == ["get_weather"]


def curl(*args: str) -> str:
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "30", *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_curl(gateway: GatewayProcess, tmp_path: Path) -> None:
    body = json.dumps({"model": "assistant", "messages": [{"role": "user", "content": "hi"}]})
    auth = f"Authorization: Bearer {gateway.key}"
    url = f"{gateway.base_url}/v1/chat/completions"
    out = json.loads(curl(url, "-H", auth, "-H", "Content-Type: application/json", "-d", body))
    assert out["choices"][0]["message"]["content"] == REPLY

    streamed = json.dumps({**json.loads(body), "stream": True})
    events = curl("-N", url, "-H", auth, "-H", "Content-Type: application/json", "-d", streamed)
    lines = [line for line in events.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    text = "".join(
        choice["delta"].get("content") or ""
        for line in lines[:-1]
        for choice in json.loads(line[6:])["choices"]
    )
    assert text == REPLY

    error = json.loads(curl(url, "-H", auth, "-d", "{not json"))
    assert error["error"]["code"] == "invalid_json"


def test_models_status_reads_the_running_gateway(gateway: GatewayProcess) -> None:
    shown = zonegate("models", "status", "--url", gateway.base_url, "--json")
    models = json.loads(shown.stdout)["models"]
    assert models["vendor-chat"] == {"status": "ok", "circuit": "closed"}
    table = zonegate("models", "status", "--url", gateway.base_url).stdout
    assert "vendor-tools" in table
    assert "closed" in table

    down = zonegate("models", "status", "--url", f"http://127.0.0.1:{free_port()}", check=False)
    assert down.returncode == 2
    assert "is the gateway running there?" in " ".join(down.stderr.split())


def test_anthropic_sdk_against_v1_messages(gateway: GatewayProcess) -> None:
    client = anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    with client:
        message = client.messages.create(
            model="assistant",
            max_tokens=64,
            system="Answer briefly.",
            messages=[{"role": "user", "content": "What is the answer?"}],
        )
        assert message.content[0].type == "text"
        assert message.content[0].text == REPLY
        assert message.stop_reason == "end_turn"
        assert message.usage.output_tokens == len(REPLY.split())

        with client.messages.stream(
            model="assistant", max_tokens=64, messages=[{"role": "user", "content": "stream"}]
        ) as stream:
            streamed = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert streamed == REPLY
        assert final.stop_reason == "end_turn"

        tool = {
            "name": "get_weather",
            "description": "Current weather in a city",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
        called = client.messages.create(
            model="agent",
            max_tokens=64,
            tools=[tool],  # type: ignore[list-item]
            messages=[{"role": "user", "content": "Weather in Lisbon?"}],
        )
        assert called.stop_reason == "tool_use"
        [use] = [b for b in called.content if b.type == "tool_use"]
        assert use.name == "get_weather"
        assert "city" in use.input  # type: ignore[operator]

        with pytest.raises(anthropic.NotFoundError):
            client.messages.create(
                model="no-such-route", max_tokens=8, messages=[{"role": "user", "content": "x"}]
            )
