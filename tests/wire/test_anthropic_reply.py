"""Anthropic ``Message`` bodies (checked by the ``anthropic`` SDK's own type) back as chat
completions that validate as the ``openai`` SDK's ``ChatCompletion``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion as OpenAIChatCompletion

from zonegate.errors import UpstreamError
from zonegate.wire.anthropic_outbound import message_to_chat
from zonegate.wire.openai_chat import ChatCompletion


def reply(**fields: Any) -> dict[str, Any]:
    """A ``Message`` body as Anthropic sends it, checked by the SDK's own type."""
    body: dict[str, Any] = {
        "id": "msg_01XYZ",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 5},
        **fields,
    }
    Message.model_validate(body)
    return body


def as_chat(body: dict[str, Any]) -> ChatCompletion:
    completion = message_to_chat(body, "claude-route", created=1_700_000_000)
    OpenAIChatCompletion.model_validate(completion.model_dump(exclude_none=True))
    return completion


def test_a_text_message_becomes_a_chat_completion() -> None:
    completion = as_chat(reply())
    assert completion.id == "msg_01XYZ"
    assert completion.created == 1_700_000_000
    assert completion.model == "claude-sonnet-5-5"
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Hello!", "stop")
    assert completion.usage is not None
    assert completion.usage.model_dump() == {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
    }


def test_a_raw_body_reads_as_its_parsed_json() -> None:
    body = reply()
    parsed = message_to_chat(body, "m", created=1)
    assert message_to_chat(json.dumps(body).encode(), "m", created=1) == parsed
    assert message_to_chat(json.dumps(body), "m", created=1) == parsed


def test_the_served_model_stands_in_when_the_body_names_none() -> None:
    body = reply()
    del body["model"]
    assert message_to_chat(body, "claude-route").model == "claude-route"


def test_tool_use_blocks_become_tool_calls() -> None:
    completion = as_chat(
        reply(
            content=[
                {"type": "thinking", "thinking": "Need weather.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Zürich"},
                },
                {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}},
            ],
            stop_reason="tool_use",
        )
    )
    message = completion.choices[0].message
    assert message.content == "Checking."
    assert message.tool_calls is not None
    assert [
        (c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls
    ] == [
        ("toolu_1", "get_weather", {"city": "Zürich"}),
        ("toolu_2", "now", {}),
    ]
    assert completion.choices[0].finish_reason == "tool_calls"


def test_a_reply_of_only_tool_use_has_no_content() -> None:
    completion = as_chat(
        reply(
            content=[{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
            stop_reason="tool_use",
        )
    )
    assert completion.choices[0].message.content is None


def test_an_empty_reply_has_empty_content() -> None:
    assert as_chat(reply(content=[])).choices[0].message.content == ""


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str | None, finish: str) -> None:
    assert as_chat(reply(stop_reason=stop_reason)).choices[0].finish_reason == finish


def test_cache_tokens_count_in_the_prompt_and_as_cached() -> None:
    usage = {
        "input_tokens": 10,
        "output_tokens": 4,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 50,
    }
    completion = as_chat(reply(usage=usage))
    assert completion.usage is not None
    assert completion.usage.model_dump() == {
        "prompt_tokens": 160,
        "completion_tokens": 4,
        "total_tokens": 164,
        "prompt_tokens_details": {"cached_tokens": 50},
    }


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"type": "message"}, "id: Field required"),
        ({**reply(), "content": "Hello!"}, "content: Input should be a valid list"),
        ({**reply(), "content": [{"type": "text"}]}, "content[0].text: Field required"),
        ({**reply(), "type": "error"}, "type: Input should be 'message'"),
        (b'{"id": "msg_1", "type": "mess', "reply: Invalid JSON"),
        (["not", "an", "object"], "reply: Input should be a valid dictionary"),
    ],
)
def test_a_malformed_reply_is_an_upstream_error(body: Any, says: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        message_to_chat(body, "claude-route")
    assert caught.value.code == "upstream_bad_response"
    assert says in caught.value.message


def test_a_block_a_chat_completion_cannot_carry_is_an_upstream_error() -> None:
    body = reply(
        content=[
            {
                "type": "server_tool_use",
                "id": "srvtoolu_1",
                "name": "web_search",
                "input": {"query": "x"},
            }
        ]
    )
    with pytest.raises(UpstreamError) as caught:
        message_to_chat(body, "m")
    assert "'server_tool_use'" in caught.value.message
