"""Anthropic Messages requests into the chat shape.

Requests are the bodies the ``anthropic`` SDK itself sends; translated requests must validate,
key for key, as OpenAI's own chat request type. Answers are in ``test_anthropic_message``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import MessageParam
from openai.types.chat import completion_create_params
from pydantic import TypeAdapter

from tests.wire.anthropic_sdk import (
    as_sdk_param,
    sdk_request,
)
from zonegate.errors import InvalidRequest
from zonegate.wire.anthropic import parse_messages_request
from zonegate.wire.anthropic_translate import (
    messages_to_chat,
)
from zonegate.wire.openai_chat import ChatCompletionRequest

OPENAI_REQUEST = TypeAdapter(completion_create_params.CompletionCreateParamsNonStreaming)
MESSAGE_PARAMS = TypeAdapter(list[MessageParam])
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def chat_for(**kwargs: Any) -> ChatCompletionRequest:
    """The chat request for what the SDK sends with ``kwargs``."""
    kwargs.setdefault("model", "support-summary")
    kwargs.setdefault("max_tokens", 256)
    return messages_to_chat(parse_messages_request(sdk_request(**kwargs)))


def as_openai(chat: ChatCompletionRequest) -> dict[str, Any]:
    """The chat request as OpenAI's own request type sees it."""
    body = chat.model_dump(exclude_none=True)
    body.pop("stream", None)  # the non-streaming params type pins stream to False
    body.pop("stream_options", None)
    validated = as_sdk_param(OPENAI_REQUEST, body)
    assert validated == body
    return body


def refusal(**kwargs: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        chat_for(**kwargs)
    return caught.value


# -- requests ----------------------------------------------------------------------------------


def test_a_plain_text_request_keeps_model_limit_and_text() -> None:
    chat = chat_for(messages=[{"role": "user", "content": "Hello there"}])
    body = as_openai(chat)
    assert body == {
        "model": "support-summary",
        "messages": [{"role": "user", "content": "Hello there"}],
        "max_tokens": 256,
    }


def test_a_system_string_becomes_the_first_system_message() -> None:
    chat = chat_for(system="Answer in French.", messages=[{"role": "user", "content": "Hi"}])
    assert as_openai(chat)["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hi"},
    ]


def test_system_blocks_stay_text_parts_in_order() -> None:
    chat = chat_for(
        system=[
            {"type": "text", "text": "You are terse."},
            {"type": "text", "text": "Never guess.", "cache_control": {"type": "ephemeral"}},
        ],
        messages=[{"role": "user", "content": "Hi"}],
    )
    assert as_openai(chat)["messages"][0] == {
        "role": "system",
        "content": [
            {"type": "text", "text": "You are terse."},
            {"type": "text", "text": "Never guess."},
        ],
    }


def test_one_system_block_reads_as_plain_text() -> None:
    chat = chat_for(
        system=[{"type": "text", "text": "Be kind."}], messages=[{"role": "user", "content": "Hi"}]
    )
    assert chat.messages[0].content == "Be kind."


def test_a_multi_turn_conversation_keeps_roles_and_order() -> None:
    messages: list[MessageParam] = [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello Ada."}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "my name?"}],
        },
    ]
    chat = chat_for(messages=messages)
    assert as_openai(chat)["messages"] == [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "my name?"}],
        },
    ]


def test_a_system_turn_inside_messages_becomes_a_system_message() -> None:
    body = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "system", "content": [{"type": "text", "text": "Now be formal."}]},
            {"role": "system", "content": "Still formal."},
        ],
    }
    MESSAGE_PARAMS.validate_python(body["messages"])
    chat = messages_to_chat(parse_messages_request(body))
    assert [(m.role, m.content) for m in chat.messages[1:]] == [
        ("system", "Now be formal."),
        ("system", "Still formal."),
    ]


def test_sampling_stop_and_user_map_to_their_chat_fields() -> None:
    # SDK 2.x (API version 2026-10-21) no longer sends sampling parameters; older clients do.
    chat = messages_to_chat(
        parse_messages_request(
            {
                "model": "support-summary",
                "max_tokens": 256,
                "messages": [{"role": "user", "content": "Hi"}],
                "temperature": 0.3,
                "top_p": 0.9,
                "top_k": 40,
                "stop_sequences": ["\n\nHuman:", "END"],
                "metadata": {"user_id": "user-42"},
            }
        )
    )
    body = as_openai(chat)
    assert body["temperature"] == 0.3
    assert body["top_p"] == 0.9
    assert body["stop"] == ["\n\nHuman:", "END"]
    assert body["user"] == "user-42"
    assert "top_k" not in body  # not every chat upstream accepts it
    assert chat.metadata is None


def test_zonegate_labels_in_metadata_stay_metadata() -> None:
    body = sdk_request(
        model="m",
        max_tokens=5,
        messages=[{"role": "user", "content": "Hi"}],
        extra_body={"metadata": {"zonegate_data_class": "restricted", "rank": 3}},
    )
    chat = messages_to_chat(parse_messages_request(body))
    assert chat.metadata == {"zonegate_data_class": "restricted"}
    assert chat.user is None


def test_a_streaming_request_asks_the_upstream_for_usage() -> None:
    body = {
        "model": "m",
        "max_tokens": 9,
        "stream": True,
        "messages": [{"role": "user", "content": "x"}],
    }
    chat = messages_to_chat(parse_messages_request(body))
    assert chat.stream is True
    assert chat.stream_options is not None
    assert chat.stream_options.include_usage


def test_tools_become_function_tools() -> None:
    chat = chat_for(
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER_TOOL, {"name": "noop", "input_schema": {"type": "object"}}],
    )
    assert as_openai(chat)["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER_TOOL["input_schema"],
                "description": "Current weather for a city",
            },
        },
        {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}},
    ]


@pytest.mark.parametrize(
    ("choice", "expected", "parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "any"}, "required", None),
        ({"type": "none"}, "none", None),
        (
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
            None,
        ),
        ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
        ({"type": "auto", "disable_parallel_tool_use": False}, "auto", None),
    ],
)
def test_tool_choice_maps_to_the_chat_equivalent(
    choice: dict[str, Any], expected: Any, parallel: bool | None
) -> None:
    chat = chat_for(
        messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER_TOOL], tool_choice=choice
    )
    body = as_openai(chat)
    assert body["tool_choice"] == expected
    assert body.get("parallel_tool_calls") == parallel


def test_tool_choice_without_tools_is_not_sent() -> None:
    chat = chat_for(
        messages=[{"role": "user", "content": "Hi"}],
        tool_choice={"type": "none", "disable_parallel_tool_use": True},
    )
    body = as_openai(chat)
    assert "tool_choice" not in body
    assert "parallel_tool_calls" not in body


def test_a_tool_round_trip_becomes_tool_calls_and_tool_messages() -> None:
    messages: list[MessageParam] = [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Two cities.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Oslo", "unit": "°C"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 °C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [
                        {"type": "text", "text": "snow"},
                        {"type": "text", "text": "-3 °C"},
                    ],
                },
                {"type": "text", "text": "Which is warmer?"},
            ],
        },
    ]
    chat = chat_for(messages=messages, tools=[WEATHER_TOOL])
    sent = as_openai(chat)["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool", "user"]
    assistant = sent[1]
    assert assistant["content"] == "Checking."
    assert [c["id"] for c in assistant["tool_calls"]] == ["toolu_1", "toolu_2"]
    assert [json.loads(c["function"]["arguments"]) for c in assistant["tool_calls"]] == [
        {"city": "Paris"},
        {"city": "Oslo", "unit": "°C"},
    ]
    assert sent[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "18 °C"}
    assert sent[3] == {"role": "tool", "tool_call_id": "toolu_2", "content": "snow\n-3 °C"}
    assert sent[4] == {"role": "user", "content": "Which is warmer?"}


def test_a_turn_of_only_tool_calls_has_no_text() -> None:
    chat = chat_for(
        messages=[
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
        ],
        tools=[WEATHER_TOOL],
    )
    assistant, result = chat.messages[1], chat.messages[2]
    assert assistant.content is None
    assert assistant.tool_calls is not None
    assert assistant.tool_calls[0].function.arguments == "{}"
    assert (result.role, result.content) == ("tool", "")
    assert len(chat.messages) == 3  # no empty user message after the result


@pytest.mark.parametrize(
    ("content", "expected"),
    [("file not found", "Error: file not found"), (None, "Error")],
)
def test_a_failed_tool_result_says_so(content: str | None, expected: str) -> None:
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": "t1", "is_error": True}
    if content is not None:
        result["content"] = content
    chat = chat_for(
        messages=[
            {"role": "user", "content": "Read it"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {}}],
            },
            {"role": "user", "content": [result]},
        ]
    )
    assert chat.messages[2].content == expected


def test_an_assistant_string_turn_and_an_empty_one() -> None:
    chat = chat_for(
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Again"},
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "xyz"}]},
        ]
    )
    assert [(m.role, m.content) for m in chat.messages[1::2]] == [
        ("assistant", "Hello"),
        ("assistant", ""),
    ]


def test_images_become_image_url_parts() -> None:
    chat = chat_for(
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "iVBORw0KGgo=",
                        },
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
                    },
                    {"type": "text", "text": "Same animal?"},
                ],
            }
        ]
    )
    assert as_openai(chat)["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "text", "text": "Same animal?"},
    ]


def test_documents_become_file_and_text_parts() -> None:
    chat = chat_for(
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "title": "report.pdf",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": "JVBERi0x",
                        },
                    },
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": "JVBERi0y",
                        },
                    },
                    {
                        "type": "document",
                        "source": {
                            "type": "text",
                            "media_type": "text/plain",
                            "data": "Plain notes.",
                        },
                    },
                    {"type": "document", "source": {"type": "content", "content": "Inline notes."}},
                    {
                        "type": "document",
                        "source": {
                            "type": "content",
                            "content": [
                                {"type": "text", "text": "Page one."},
                                {
                                    "type": "image",
                                    "source": {"type": "url", "url": "https://example.com/p2.png"},
                                },
                            ],
                        },
                    },
                ],
            }
        ]
    )
    assert as_openai(chat)["messages"][0]["content"] == [
        {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"},
        },
        {
            "type": "file",
            "file": {
                "filename": "document.pdf",
                "file_data": "data:application/pdf;base64,JVBERi0y",
            },
        },
        {"type": "text", "text": "Plain notes."},
        {"type": "text", "text": "Inline notes."},
        {"type": "text", "text": "Page one."},
        {"type": "image_url", "image_url": {"url": "https://example.com/p2.png"}},
    ]


@pytest.mark.parametrize(
    ("message", "path", "says"),
    [
        (
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hi"},
                    {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                ],
            },
            "messages[0].content[1].source",
            "base64",
        ),
        (
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "url", "url": "https://example.com/a.pdf"},
                    }
                ],
            },
            "messages[0].content[0].source",
            "PDF",
        ),
        (
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "text/csv", "data": "YQ=="},
                    }
                ],
            },
            "messages[0].content[0].source",
            "'base64'",
        ),
        (
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {
                            "type": "content",
                            "content": [
                                {
                                    "type": "document",
                                    "source": {
                                        "type": "text",
                                        "media_type": "text/plain",
                                        "data": "x",
                                    },
                                }
                            ],
                        },
                    }
                ],
            },
            "messages[0].content[0].source.content[0]",
            "'document'",
        ),
        (
            {
                "role": "user",
                "content": [
                    {
                        "type": "search_result",
                        "source": "s",
                        "title": "t",
                        "content": [{"type": "text", "text": "x"}],
                    }
                ],
            },
            "messages[0].content[0]",
            "'search_result'",
        ),
        (
            {
                "role": "user",
                "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}],
            },
            "messages[0].content[0]",
            "assistant",
        ),
        (
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "content": [
                            {"type": "text", "text": "ok"},
                            {
                                "type": "image",
                                "source": {"type": "url", "url": "https://example.com/x.png"},
                            },
                        ],
                    }
                ],
            },
            "messages[0].content[0].content[1]",
            "only text",
        ),
        (
            {
                "role": "assistant",
                "content": [
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/x.png"}}
                ],
            },
            "messages[0].content[0]",
            "'image'",
        ),
    ],
)
def test_content_the_chat_shape_cannot_carry_is_refused_by_path(
    message: dict[str, Any], path: str, says: str
) -> None:
    error = messages_to_chat_error({"model": "m", "max_tokens": 5, "messages": [message]})
    assert error.param == path
    assert error.message.startswith(f"{path}: ")
    assert says in error.message
    assert error.status == 400


def test_a_non_text_block_in_a_system_turn_is_refused() -> None:
    body = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {
                "role": "system",
                "content": [{"type": "image", "source": {"type": "url", "url": "https://x"}}],
            }
        ],
    }
    assert messages_to_chat_error(body).param == "messages[0].content[0]"


def test_server_tools_and_tools_without_a_schema_are_refused() -> None:
    server = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    error = refusal(messages=[{"role": "user", "content": "x"}], tools=[WEATHER_TOOL, server])
    assert error.param == "tools[1]"
    assert "server tool" in error.message
    body = {
        "model": "m",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": "t"}],
    }
    assert messages_to_chat_error(body).param == "tools[0].input_schema"


def messages_to_chat_error(body: dict[str, Any]) -> InvalidRequest:
    request = parse_messages_request(body)
    with pytest.raises(InvalidRequest) as caught:
        messages_to_chat(request)
    return caught.value
