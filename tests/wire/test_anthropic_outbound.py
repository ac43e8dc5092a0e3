"""Chat requests as Anthropic Messages requests.

Built bodies must be what the ``anthropic`` SDK's request types accept, key for key. Replies are
in ``test_anthropic_reply``.
"""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)
from pydantic import TypeAdapter

from tests.wire.anthropic_sdk import as_sdk_param, sdk_request
from zonegate.errors import InvalidRequest
from zonegate.wire.anthropic_outbound import (
    ANTHROPIC_VERSION,
    JSON_OBJECT_INSTRUCTION,
    chat_to_messages_request,
)
from zonegate.wire.openai_chat import ChatCompletionRequest

NON_STREAMING = TypeAdapter(MessageCreateParamsNonStreaming)
STREAMING = TypeAdapter(MessageCreateParamsStreaming)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def chat(messages: list[dict[str, Any]] | None = None, **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {
            "model": "claude-route",
            "messages": messages or [{"role": "user", "content": "Hi"}],
            **fields,
        }
    )


def build(req: ChatCompletionRequest, **kwargs: Any) -> dict[str, Any]:
    """The body, checked key for key against the SDK's request type."""
    body = chat_to_messages_request(req, "claude-sonnet-5-5", 1024, **kwargs)
    adapter = STREAMING if body.get("stream") else NON_STREAMING
    assert as_sdk_param(adapter, body) == body
    return body


def refusal(req: ChatCompletionRequest, **kwargs: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        chat_to_messages_request(req, "claude-sonnet-5-5", 1024, **kwargs)
    assert caught.value.message.startswith(f"{caught.value.param}: ")
    return caught.value


# -- requests ----------------------------------------------------------------------------------


def test_a_plain_request_names_the_upstream_model_and_a_limit() -> None:
    body = build(chat())
    assert body == {
        "model": "claude-sonnet-5-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }
    assert sdk_request(**body) == body  # what SDK 2.x itself sends for these arguments
    assert ANTHROPIC_VERSION == "2026-10-21"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"max_tokens": 50}, 50), ({"max_completion_tokens": 70, "max_tokens": 50}, 70)],
)
def test_the_request_limit_wins_over_the_default(fields: dict[str, Any], expected: int) -> None:
    assert build(chat(**fields))["max_tokens"] == expected


def test_streaming_is_asked_for_by_the_caller_of_the_translation() -> None:
    assert build(chat(stream=True))  # the chat flag alone does not stream upstream
    assert "stream" not in build(chat(stream=True))
    assert build(chat(), stream=True)["stream"] is True


def test_system_and_developer_messages_become_top_level_system_blocks() -> None:
    body = build(
        chat(
            [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hi"},
                {
                    "role": "developer",
                    "content": [{"type": "text", "text": "Use metric units."}, {"type": "text"}],
                },
                {"role": "system", "content": ""},
                {"role": "user", "content": "Weather?"},
            ]
        )
    )
    assert body["system"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Use metric units."},
    ]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "Weather?"}],
        }
    ]


def test_a_multi_turn_conversation_alternates() -> None:
    body = build(
        chat(
            [
                {"role": "user", "content": "My name is Ada."},
                {"role": "assistant", "content": "Hello Ada."},
                {"role": "user", "content": None},
                {"role": "assistant", "content": [{"type": "text", "text": "Yes?"}]},
            ]
        )
    )
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "My name is Ada."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello Ada."}]},
        {"role": "user", "content": [{"type": "text", "text": ""}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Yes?"}]},
    ]


def test_a_tool_round_trip_becomes_tool_use_then_one_turn_of_results() -> None:
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
    ]
    body = build(
        chat(
            [
                {"role": "user", "content": "Weather and time?"},
                {"role": "assistant", "content": None, "tool_calls": calls},
                {"role": "tool", "tool_call_id": "call_1", "content": "18 °C"},
                {
                    "role": "tool",
                    "tool_call_id": "call_2",
                    "content": [{"type": "text", "text": "09:00"}],
                },
                {"role": "user", "content": "Thanks. Summarise."},
            ],
            tools=[WEATHER],
        )
    )
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
        ],
    }
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18 °C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "09:00"},
            {"type": "text", "text": "Thanks. Summarise."},
        ],
    }
    assert len(body["messages"]) == 3


def test_tool_call_ids_are_made_fit_for_anthropic_alike_in_call_and_result() -> None:
    calls = [{"id": "call:7/a b", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    body = build(
        chat(
            [
                {"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": calls},
                {"role": "tool", "tool_call_id": "call:7/a b", "content": "ok"},
            ]
        )
    )
    assert body["messages"][1]["content"][0]["id"] == "call_7_a_b"
    assert body["messages"][2]["content"][0]["tool_use_id"] == "call_7_a_b"


def test_assistant_text_before_tool_calls_is_kept() -> None:
    calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    body = build(
        chat(
            [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": "Checking.", "tool_calls": calls},
            ]
        )
    )
    assert [b["type"] for b in body["messages"][1]["content"]] == ["text", "tool_use"]


def test_an_empty_assistant_message_is_left_out() -> None:
    body = build(
        chat(
            [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": "b"},
            ]
        )
    )
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_images_and_pdfs_become_blocks() -> None:
    body = build(
        chat(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Compare:"},
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "data:image/png;base64,iVBORw0KGgo=",
                                "detail": "high",
                            },
                        },
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                        {
                            "type": "file",
                            "file": {
                                "filename": "report.pdf",
                                "file_data": "data:application/pdf;base64,JVBERi0x",
                            },
                        },
                        {
                            "type": "file",
                            "file": {"file_data": "data:application/pdf;base64,JVBERi0y"},
                        },
                    ],
                }
            ]
        )
    )
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "Compare:"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
            "title": "report.pdf",
        },
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0y"},
        },
    ]


@pytest.mark.parametrize(
    ("part", "param"),
    [
        (
            {"type": "image_url", "image_url": {"url": "ftp://example.com/x.png"}},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"type": "image_url", "image_url": "not-an-object"},
            "messages[0].content[0].image_url.url",
        ),
        ({"type": "image_url"}, "messages[0].content[0].image_url.url"),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "messages[0].content[0].file"),
        (
            {"type": "file", "file": {"file_data": "data:text/csv;base64,YQ=="}},
            "messages[0].content[0].file",
        ),
        ({"type": "file", "file": "x"}, "messages[0].content[0].file"),
        (
            {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
            "messages[0].content[0]",
        ),
    ],
)
def test_parts_anthropic_cannot_take_are_refused_by_path(part: dict[str, Any], param: str) -> None:
    assert refusal(chat([{"role": "user", "content": [part]}])).param == param


def test_a_text_part_without_text_is_empty_text() -> None:
    body = build(chat([{"role": "user", "content": [{"type": "text"}]}]))
    assert body["messages"][0]["content"] == [{"type": "text", "text": ""}]


@pytest.mark.parametrize(
    ("messages", "param", "says"),
    [
        (
            [
                {
                    "role": "system",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x"}}],
                }
            ],
            "messages[0].content[0]",
            "only text",
        ),
        (
            [{"role": "tool", "content": "orphan"}],
            "messages[0].tool_call_id",
            "id of the tool call",
        ),
        ([{"role": "function", "name": "f", "content": "x"}], "messages[0].role", "deprecated"),
        (
            [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{oops"},
                        }
                    ],
                }
            ],
            "messages[0].tool_calls[0].function.arguments",
            "not valid JSON",
        ),
        (
            [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "[1]"},
                        }
                    ],
                }
            ],
            "messages[0].tool_calls[0].function.arguments",
            "JSON object",
        ),
    ],
)
def test_messages_anthropic_cannot_take_are_refused(
    messages: list[dict[str, Any]], param: str, says: str
) -> None:
    error = refusal(chat(messages))
    assert error.param == param
    assert says in error.message
    assert error.code == "unsupported_parameter"


def test_function_tools_become_anthropic_tools() -> None:
    bare = {"type": "function", "function": {"name": "now"}}
    body = build(chat(tools=[WEATHER, bare]))
    assert body["tools"] == [
        {
            "name": "get_weather",
            "input_schema": WEATHER["function"]["parameters"],
            "description": "Current weather for a city",
        },
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in body


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"type": "custom", "custom": {"name": "x"}}, "tools[0]"),
        ({"type": "function"}, "tools[0]"),
        ({"type": "function", "function": {"description": "no name"}}, "tools[0].function.name"),
        (
            {"type": "function", "function": {"name": "f", "parameters": "{}"}},
            "tools[0].function.parameters",
        ),
    ],
)
def test_tools_anthropic_cannot_take_are_refused(tool: dict[str, Any], param: str) -> None:
    assert refusal(chat(tools=[tool])).param == param


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
        (None, True, None),
    ],
)
def test_tool_choice_maps_to_anthropic(
    choice: Any, parallel: bool | None, expected: dict[str, Any] | None
) -> None:
    fields: dict[str, Any] = {"tools": [WEATHER]}
    if choice is not None:
        fields["tool_choice"] = choice
    if parallel is not None:
        fields["parallel_tool_calls"] = parallel
    assert build(chat(**fields)).get("tool_choice") == expected


def test_tool_choice_without_tools_is_not_sent() -> None:
    assert "tool_choice" not in build(chat(tool_choice="required"))


@pytest.mark.parametrize(
    "choice", ["sometimes", {"type": "function"}, {"type": "function", "function": {"name": ""}}]
)
def test_an_unknown_tool_choice_is_refused(choice: Any) -> None:
    assert refusal(chat(tools=[WEATHER], tool_choice=choice)).param == "tool_choice"


def test_a_json_schema_format_becomes_structured_output() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    body = build(
        chat(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "a", "schema": schema, "strict": True},
            }
        )
    )
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "system" not in body


def test_json_object_mode_is_asked_for_in_the_system_prompt() -> None:
    body = build(
        chat(
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "x"}],
            response_format={"type": "json_object"},
        )
    )
    assert body["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": JSON_OBJECT_INSTRUCTION},
    ]
    assert "output_config" not in body


def test_a_text_format_changes_nothing() -> None:
    assert build(chat(response_format={"type": "text"})) == build(chat())


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        (
            {"type": "json_schema", "json_schema": {"name": "a"}},
            "response_format.json_schema.schema",
        ),
        ({"type": "json_schema"}, "response_format.json_schema.schema"),
        ({"type": "grammar", "grammar": "root ::= x"}, "response_format.type"),
    ],
)
def test_formats_anthropic_cannot_take_are_refused(
    response_format: dict[str, Any], param: str
) -> None:
    assert refusal(chat(response_format=response_format)).param == param


def test_stop_user_and_metadata() -> None:
    body = build(chat(stop="END", user="user-42", metadata={"zonegate_data_class": "restricted"}))
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "user-42"}
    assert build(chat(stop=["a", "b"]))["stop_sequences"] == ["a", "b"]


def test_sampling_parameters_are_left_out_by_default() -> None:
    body = build(chat(temperature=1.7, top_p=0.5, top_k=20, seed=7, presence_penalty=1))
    assert not {"temperature", "top_p", "top_k", "seed", "presence_penalty"} & body.keys()


def test_sampling_parameters_are_sent_when_asked_for() -> None:
    body = chat_to_messages_request(
        chat(temperature=0.2, top_p=0.9, top_k=20), "claude-3-5-haiku", 64, sampling=True
    )
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.2, 0.9, 20)
    empty = chat_to_messages_request(chat(top_k=True), "claude-3-5-haiku", 64, sampling=True)
    assert not {"temperature", "top_p", "top_k"} & empty.keys()


def test_a_temperature_above_one_is_refused_when_sent() -> None:
    error = refusal(chat(temperature=1.5), sampling=True)
    assert error.param == "temperature"
    assert "from 0 to 1" in error.message


def test_logprobs_are_refused() -> None:
    assert refusal(chat(logprobs=True)).param == "logprobs"
