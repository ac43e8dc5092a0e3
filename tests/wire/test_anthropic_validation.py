"""``/v1/messages`` bodies validated as the Anthropic wire types: bad input is refused with
``InvalidRequest`` naming each field's path (union branches left out), unknown fields are kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wire.anthropic_sdk import sdk_request
from zonegate.errors import InvalidRequest
from zonegate.wire.anthropic import parse_messages_request
from zonegate.wire.anthropic_translate import messages_to_chat

# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}]},
            "max_tokens",
            "Field required",
        ),
        (
            {"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]},
            "max_tokens",
            "greater than or equal to 1",
        ),
        ({"model": "m", "max_tokens": 5, "messages": []}, "messages", "at least 1"),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "temperature": 1.5,
                "messages": [{"role": "user", "content": "x"}],
            },
            "temperature",
            "less than or equal to 1",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].role",
            "'user'",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "text"}]}],
            },
            "messages[0].content[0].text",
            "Field required",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"text": "x"}]}],
            },
            "messages[0].content[0].type",
            "Field required",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_use", "id": "t", "name": "n", "input": "{}"}],
                    }
                ],
            },
            "messages[0].content[0].input",
            "dictionary",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 7}]},
            "messages[0].content",
            "list",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "tool_choice": {"type": "tool"},
                "messages": [{"role": "user", "content": "x"}],
            },
            "tool_choice",
            "needs the name",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": ["text"], "text": "x"}]}],
            },
            "messages[0].content[0].type",
            "valid string",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "system": [{"type": "image"}],
                "messages": [{"role": "user", "content": "x"}],
            },
            "system[0].type",
            "'text'",
        ),
    ],
)
def test_invalid_requests_name_the_field(body: dict[str, Any], param: str, says: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_messages_request(body)
    assert caught.value.param == param
    assert says in caught.value.message
    assert caught.value.message.startswith("invalid messages request: ")


def test_a_body_with_many_errors_says_how_many_more() -> None:
    messages = [{"role": "user", "content": [{"type": "text"}]} for _ in range(8)]
    with pytest.raises(InvalidRequest) as caught:
        parse_messages_request({"model": "m", "max_tokens": 5, "messages": messages})
    assert "(and 3 more)" in caught.value.message


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_messages_request(["not", "an", "object"])
    assert "body: " in caught.value.message
    assert caught.value.param is None


def test_unknown_fields_are_tolerated() -> None:
    body = sdk_request(
        model="m",
        max_tokens=5,
        messages=[{"role": "user", "content": [{"type": "text", "text": "x", "citations": None}]}],
        thinking={"type": "enabled", "budget_tokens": 1024},
        service_tier="auto",
    )
    request = parse_messages_request(body)
    assert request.model_extra == {
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "service_tier": "auto",
    }
    assert messages_to_chat(request).messages[0].content == "x"
