"""Mapping OpenAI chat requests onto llama-cpp-python's arguments (no model needed)."""

from __future__ import annotations

from typing import Any

import pytest

from zonegate.errors import InvalidRequest
from zonegate.providers.llamacpp_request import chat_arguments
from zonegate.wire.openai_chat import ChatCompletionRequest


def arguments(**body: Any) -> tuple[dict[str, Any], dict[int, float]]:
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    request = ChatCompletionRequest.model_validate({"model": "m", **body})
    return chat_arguments(request, model_id="local", served_model="Served", n_vocab=1000)


def test_only_parameters_the_caller_set_are_passed() -> None:
    args, bias = arguments()
    assert args == {
        "messages": [{"role": "user", "content": "hi"}],
        "model": "Served",
        "max_tokens": None,
    }
    assert bias == {}


def test_sampling_parameters_and_limits_are_mapped() -> None:
    args, _ = arguments(
        temperature=0.3,
        top_p=0.9,
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        max_tokens=50,
        max_completion_tokens=20,
        stop="END",
    )
    assert args["temperature"] == 0.3
    assert args["top_p"] == 0.9
    assert args["seed"] == 7
    assert args["presence_penalty"] == 0.5
    assert args["frequency_penalty"] == -0.5
    assert args["max_tokens"] == 20  # max_completion_tokens wins, as in OpenAI's API
    assert args["stop"] == ["END"]


def test_messages_become_plain_text_dicts() -> None:
    args, _ = arguments(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "42", "name": "f"},
        ]
    )
    assert args["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "ab"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "content": "42", "tool_call_id": "c1", "name": "f"},
    ]


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            {"type": "json_object", "schema": {"type": "object"}},
        ),
    ],
)
def test_response_formats(response_format: dict[str, Any], expected: object) -> None:
    args, _ = arguments(response_format=response_format)
    assert args.get("response_format") == expected


def test_logit_bias_is_returned_for_the_provider_to_apply() -> None:
    args, bias = arguments(logit_bias={"2": -100, "17": 3.5})
    assert "logit_bias" not in args
    assert bias == {2: -100.0, 17: 3.5}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"logprobs": True}, "logprobs"),
        ({"logit_bias": {"1000": 1}}, "logit_bias"),
        ({"logit_bias": {"-1": 1}}, "logit_bias"),
        ({"logit_bias": {"x": 1}}, "logit_bias"),
        ({"logit_bias": {"1": 101}}, "logit_bias"),
        ({"logit_bias": [1]}, "logit_bias"),
        ({"response_format": {"type": "json_schema"}}, "response_format"),
        ({"response_format": {"type": "xml"}}, "response_format"),
    ],
)
def test_what_the_model_cannot_honour_is_refused(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        arguments(**body)
    assert caught.value.param == param


def test_tools_with_tool_choice_none_are_ignored() -> None:
    args, _ = arguments(tools=[{"type": "function", "function": {"name": "f"}}], tool_choice="none")
    assert "tools" not in args
