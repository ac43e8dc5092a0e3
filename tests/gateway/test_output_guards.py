"""Output guards through the gateway: secrets and data above clearance in the model's answer,
streamed or not, and the per-route tool-call allow-list."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway, make_gateway
from zonegate.config.load import load_config_text
from zonegate.gateway.services import GatewayServices
from zonegate.providers.base import Capabilities
from zonegate.wire.openai_chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    ToolCall,
)

CONFIG = """
zones:
  local: {operator: self, ceiling: restricted}
  vendor:
    operator: acme
    ceiling: internal
    transforms: {confidential: pseudonymise, restricted: pseudonymise}
models:
  local-model:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: l}
  vendor-model:
    zone: vendor
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: v}
  tool-model:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: t}
routes:
  plain: {candidates: [local-model]}
  open: {candidates: [local-model], output: {secrets: allow}}
  strict: {candidates: [local-model], output: {secrets: block}}
  private: {candidates: [local-model], output: {pii: redact}}
  masked: {candidates: [vendor-model]}
  tooling: {candidates: [tool-model], tools: {allowed: [get_weather]}}
  any-tool: {candidates: [tool-model], tools: {schemas: false}}
teams:
  default: {routes: ["*"], models: ["*"]}
  interns: {routes: ["*"], clearance: internal}
"""
AWS = "AKIAIOSFODNN7EXAMPLE"
EMAIL = "jane.doe@example.com"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@dataclass
class ToolCaller:
    """Answers with one tool call, whole or in argument fragments."""

    model_id: str
    name: str = "get_weather"
    arguments: str = '{"city": "Paris"}'
    calls: list[ChatCompletionRequest] = field(default_factory=list)
    capabilities: Capabilities = field(default_factory=Capabilities)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        self.calls.append(request)
        call = ToolCall.model_validate(
            {"id": "call_1", "function": {"name": self.name, "arguments": self.arguments}}
        )
        message = AssistantMessage(content=None, tool_calls=[call])
        return ChatCompletion(
            id="c",
            created=int(time.time()),
            model="t",
            choices=[Choice(message=message, finish_reason="tool_calls")],
        )

    async def stream(self, request: ChatCompletionRequest) -> AsyncIterator[ChatCompletionChunk]:
        self.calls.append(request)
        base = {"id": "c", "created": int(time.time()), "model": "t"}
        head = {"index": 0, "id": "call_1", "type": "function", "function": {"name": self.name}}
        yield ChatCompletionChunk(
            **base, choices=[ChunkChoice(delta=Delta(role="assistant", tool_calls=[head]))]
        )
        args = self.arguments
        for i in range(0, len(args), 4):
            piece = {"index": 0, "function": {"arguments": args[i : i + 4]}}
            yield ChatCompletionChunk(
                **base, choices=[ChunkChoice(delta=Delta(tool_calls=[piece]))]
            )
        yield ChatCompletionChunk(**base, choices=[ChunkChoice(finish_reason="tool_calls")])


@dataclass
class Tools:
    gw: Gateway
    caller: ToolCaller


def _tweak(services: GatewayServices) -> None:
    providers = dict(services.providers)
    providers["tool-model"] = ToolCaller("tool-model")  # type: ignore[assignment]
    services.providers = providers


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    loaded = load_config_text(CONFIG, source="output.yaml")
    async with make_gateway(tmp_path, loaded, tweak=_tweak) as gateway:
        for fake in gateway.fakes.values():
            fake.echo = True
        yield gateway


def tool_caller(gw: Gateway) -> ToolCaller:
    caller = gw.services.providers["tool-model"]
    assert isinstance(caller, ToolCaller)
    return caller


@dataclass
class Streamed:
    content: str
    tool_calls: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    done: bool


def parse_sse(r: httpx.Response) -> Streamed:
    content: list[str] = []
    calls: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    done = False
    for event in r.text.split("\n\n"):
        if not event.startswith("data: "):
            continue
        payload = event[len("data: ") :]
        if payload == "[DONE]":
            done = True
            continue
        data = json.loads(payload)
        if "error" in data:
            errors.append(data["error"])
            continue
        for choice in data["choices"]:
            delta = choice["delta"]
            content.append(delta.get("content") or "")
            calls.extend(delta.get("tool_calls") or [])
    return Streamed("".join(content), calls, errors, done)


async def chat_tool(gw: Gateway, model: str, stream: bool = False, **params: Any) -> httpx.Response:
    params.setdefault("tools", [WEATHER])
    return await gw.chat("weather in Paris?", model=model, stream=stream, **params)


# -- secrets and data above clearance ------------------------------------------------------


async def test_secret_in_output_is_redacted(gw: Gateway) -> None:
    r = await gw.chat(f"my key is {AWS} ok", model="plain")
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == (
        "my key is [REDACTED_AWS_ACCESS_KEY] ok"
    )
    [record] = gw.audit()
    assert record["guard_verdicts"]["output"] == {
        "action": "redact",
        "redacted": {"aws_access_key": 1},
    }
    assert AWS not in json.dumps(record["guard_verdicts"])


async def test_secret_split_across_stream_chunks_is_redacted(gw: Gateway) -> None:
    # The echo fake streams three characters per chunk, so the key is split six ways.
    text = f"my key is {AWS} ok"
    r = await gw.chat(text, model="plain", stream=True)
    assert r.status_code == 200, r.text
    out = parse_sse(r)
    assert out.done
    assert not out.errors
    assert AWS not in r.text
    assert out.content == "my key is [REDACTED_AWS_ACCESS_KEY] ok"
    [record] = gw.audit()
    assert record["guard_verdicts"]["output"]["redacted"] == {"aws_access_key": 1}


async def test_long_stream_redacts_every_secret_and_keeps_the_rest(gw: Gateway) -> None:
    filler = "lorem ipsum dolor sit amet " * 12  # well past the hold-back window
    text = f"{filler}{AWS} {filler}{AWS}. {filler}".strip()
    # The request body limit is 4096 bytes; this stays under it.
    r = await gw.chat(text, model="plain", stream=True)
    out = parse_sse(r)
    assert AWS not in r.text
    assert out.content == text.replace(AWS, "[REDACTED_AWS_ACCESS_KEY]")
    [record] = gw.audit()
    assert record["guard_verdicts"]["output"]["redacted"] == {"aws_access_key": 2}


async def test_allow_mode_passes_secrets(gw: Gateway) -> None:
    r = await gw.chat(f"my key is {AWS}", model="open")
    assert r.json()["choices"][0]["message"]["content"] == f"my key is {AWS}"
    s = parse_sse(await gw.chat(f"my key is {AWS}", model="open", stream=True))
    assert s.content == f"my key is {AWS}"
    assert all("output" not in rec["guard_verdicts"] for rec in gw.audit())


async def test_block_mode_withholds_the_answer(gw: Gateway) -> None:
    r = await gw.chat(f"my key is {AWS}", model="strict")
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "output_blocked"
    assert AWS not in r.text
    s = await gw.chat(f"my key is {AWS}", model="strict", stream=True)
    out = parse_sse(s)
    assert AWS not in s.text
    assert [e["code"] for e in out.errors] == ["output_blocked"]
    assert not out.done
    records = gw.audit()
    assert len(records) == 2
    for record in records:
        assert record["error_class"] == "output_blocked"
        assert record["status"] == 502
        assert record["guard_verdicts"]["output"] == {
            "action": "block",
            "blocked": {"aws_access_key": 1},
        }


async def test_pii_above_clearance_is_redacted(gw: Gateway) -> None:
    fake = gw.fakes["local-model"]
    fake.echo, fake.reply = False, f"write to: {EMAIL} ; please"  # streamed word by word
    intern = gw.keys.create("bob", team="interns").secret
    headers = gw.headers(intern)
    body = {"model": "private", "messages": [{"role": "user", "content": "who?"}]}
    r = await gw.client.post("/v1/chat/completions", json=body, headers=headers)
    assert r.json()["choices"][0]["message"]["content"] == "write to: [REDACTED_EMAIL] ; please"
    r = await gw.client.post("/v1/chat/completions", json={**body, "stream": True}, headers=headers)
    assert parse_sse(r).content == "writeto:[REDACTED_EMAIL];please"  # the fake drops spaces
    # The default team is cleared for it: the same answer passes.
    r = await gw.chat("who?", model="private")
    assert r.json()["choices"][0]["message"]["content"] == f"write to: {EMAIL} ; please"


async def test_pseudonymised_and_restored_values_are_not_flagged(gw: Gateway) -> None:
    text = f"key {AWS} for {EMAIL}"
    r = await gw.chat(text, model="masked")
    assert r.status_code == 200, r.text
    upstream = gw.fakes["vendor-model"].calls[0].model_dump_json()
    assert AWS not in upstream
    assert r.json()["choices"][0]["message"]["content"] == text
    s = await gw.chat(text, model="masked", stream=True)
    assert parse_sse(s).content == text
    assert all("output" not in rec["guard_verdicts"] for rec in gw.audit())


# -- tool calls ----------------------------------------------------------------------------


async def test_valid_tool_call_passes(gw: Gateway) -> None:
    r = await chat_tool(gw, "tooling")
    assert r.status_code == 200, r.text
    [call] = r.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    s = parse_sse(await chat_tool(gw, "tooling", stream=True))
    assert s.done
    assert not s.errors
    assert s.tool_calls == [
        {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]


async def test_tool_not_on_the_allow_list_is_blocked(gw: Gateway) -> None:
    tool_caller(gw).name = "delete_everything"
    declared = [WEATHER, {"type": "function", "function": {"name": "delete_everything"}}]
    r = await chat_tool(gw, "tooling", tools=declared)
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "tool_call_blocked"
    s = await chat_tool(gw, "tooling", stream=True, tools=declared)
    out = parse_sse(s)
    assert [e["code"] for e in out.errors] == ["tool_call_blocked"]
    assert not out.done
    assert not out.tool_calls
    for record in gw.audit():
        assert record["error_class"] == "tool_call_blocked"
        assert record["guard_verdicts"]["output"]["blocked"] == {"tool_not_allowed": 1}


@pytest.mark.parametrize(
    "arguments", ['{"city": 42}', '{"town": "Paris"}', '{"city": "Paris"', "[]"]
)
async def test_tool_arguments_failing_the_schema_are_blocked(gw: Gateway, arguments: str) -> None:
    tool_caller(gw).arguments = arguments
    r = await chat_tool(gw, "tooling")
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "tool_call_blocked"
    out = parse_sse(await chat_tool(gw, "tooling", stream=True))
    assert [e["code"] for e in out.errors] == ["tool_call_blocked"]
    assert not out.tool_calls
    for record in gw.audit():
        assert record["guard_verdicts"]["output"]["blocked"] == {"tool_arguments_invalid": 1}


async def test_undeclared_tool_is_blocked_when_schemas_are_checked(gw: Gateway) -> None:
    r = await chat_tool(gw, "tooling", tools=None)
    assert r.json()["error"]["code"] == "tool_call_blocked"
    [record] = gw.audit()
    assert record["guard_verdicts"]["output"]["blocked"] == {"tool_not_declared": 1}


async def test_without_schema_checks_any_tool_passes(gw: Gateway) -> None:
    tool_caller(gw).name, tool_caller(gw).arguments = "anything", "not json"
    r = await chat_tool(gw, "any-tool", tools=None)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "anything"


async def test_secret_in_tool_arguments_is_redacted(gw: Gateway) -> None:
    tool_caller(gw).arguments = json.dumps({"city": f"Paris {AWS}"})
    expected = json.dumps({"city": "Paris [REDACTED_AWS_ACCESS_KEY]"})
    r = await chat_tool(gw, "tooling")
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == expected
    s = await chat_tool(gw, "tooling", stream=True)
    assert AWS not in s.text
    assert parse_sse(s).tool_calls[0]["function"]["arguments"] == expected


async def test_pii_scope_all_redacts_what_the_model_adds_but_restores_the_callers_own(
    tmp_path: Path,
) -> None:
    config = """
zones:
  vendor: {operator: acme, ceiling: internal, transforms: {confidential: pseudonymise}}
models:
  vendor-model:
    zone: vendor
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: v}
routes:
  r: {candidates: [vendor-model], output: {pii: redact, pii_scope: all}}
teams:
  default: {routes: ["*"]}
"""
    async with make_gateway(tmp_path, load_config_text(config, source="o.yaml")) as gw:
        vendor = gw.fakes["vendor-model"]
        vendor.echo = True
        r = await gw.chat("write to jane.doe@example.com", model="r")
        assert r.json()["choices"][0]["message"]["content"] == "write to jane.doe@example.com"
        vendor.echo = False
        vendor.reply = "Ask john.roe@example.org instead."
        r = await gw.chat("who should I ask?", model="r")
        assert r.json()["choices"][0]["message"]["content"] == "Ask [REDACTED_EMAIL] instead."
