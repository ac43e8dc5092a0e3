"""Chat completions answered as Anthropic ``Message`` bodies, and errors in Anthropic's shape:
what the ``anthropic`` SDK reads back from the gateway, judged by the SDK itself."""

from __future__ import annotations

import anthropic
import httpx2 as httpx
import pytest
from anthropic.types import Message
from anthropic.types.shared import ErrorResponse

from tests.wire.anthropic_sdk import FakeGateway, completion, sdk_client
from zonegate.errors import UpstreamError
from zonegate.wire.anthropic_translate import anthropic_error_body, chat_to_message, message_id
from zonegate.wire.openai_chat import ChatCompletion

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


# -- responses ---------------------------------------------------------------------------------


def test_a_text_completion_is_a_message_the_sdk_reads() -> None:
    gateway = FakeGateway(
        lambda _: completion(
            "Bonjour !", usage={"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
        )
    )
    with gateway.client() as client:
        message = client.messages.create(
            model="support-summary",
            max_tokens=64,
            messages=[{"role": "user", "content": "Say hello in French"}],
        )
    assert isinstance(message, Message)
    assert message.id == "msg_abc123"
    assert message.model == "support-summary"
    assert message.role == "assistant"
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", "Bonjour !")]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 4)
    assert gateway.chats[0].messages[0].content == "Say hello in French"


def test_tool_calls_become_tool_use_blocks_with_parsed_input() -> None:
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
    ]
    gateway = FakeGateway(lambda _: completion(None, finish_reason="tool_calls", tool_calls=calls))
    with gateway.client() as client:
        message = client.messages.create(
            model="m",
            max_tokens=64,
            tools=[WEATHER_TOOL],
            messages=[{"role": "user", "content": "Weather?"}],
        )
    assert message.stop_reason == "tool_use"
    blocks = [b for b in message.content if b.type == "tool_use"]
    assert [(b.id, b.name, b.input) for b in blocks] == [
        ("call_1", "get_weather", {"city": "Paris"}),
        ("call_2", "now", {}),
    ]
    assert len(message.content) == 2


@pytest.mark.parametrize(
    ("finish", "calls", "expected"),
    [
        ("stop", False, "end_turn"),
        ("length", False, "max_tokens"),
        ("content_filter", False, "refusal"),
        ("tool_calls", True, "tool_use"),
        ("function_call", True, "tool_use"),
        ("stop", True, "tool_use"),
        ("length", True, "max_tokens"),
        (None, False, "end_turn"),
        ("eos_token", False, "end_turn"),
    ],
)
def test_finish_reasons_map_to_stop_reasons(finish: str | None, calls: bool, expected: str) -> None:
    tool_calls = (
        [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
        if calls
        else None
    )
    message = chat_to_message(completion("x", finish_reason=finish, tool_calls=tool_calls), "m")
    assert Message.model_validate(message).stop_reason == expected


def test_cached_prompt_tokens_are_counted_apart() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 7,
        "total_tokens": 107,
        "prompt_tokens_details": {"cached_tokens": 60},
    }
    message = Message.model_validate(chat_to_message(completion("x", usage=usage), "m"))
    assert message.usage.input_tokens == 40
    assert message.usage.cache_read_input_tokens == 60
    assert message.usage.output_tokens == 7


def test_missing_usage_reads_as_zero() -> None:
    message = Message.model_validate(chat_to_message(completion("x"), "m"))
    assert (message.usage.input_tokens, message.usage.output_tokens) == (0, 0)
    assert message.usage.cache_read_input_tokens is None


def test_a_refusal_is_text_with_the_refusal_stop_reason() -> None:
    done = completion(None, finish_reason="content_filter", refusal="I can't help with that.")
    message = Message.model_validate(chat_to_message(done, "m"))
    assert [b.text for b in message.content if b.type == "text"] == ["I can't help with that."]
    assert message.stop_reason == "refusal"


def test_a_completion_without_choices_is_an_empty_message() -> None:
    empty = ChatCompletion.model_validate({"id": "x", "created": 1, "model": "m", "choices": []})
    message = Message.model_validate(chat_to_message(empty, "m"))
    assert message.content == []
    assert message.stop_reason == "end_turn"


@pytest.mark.parametrize("arguments", ['{"city": ', '["Paris"]', "42"])
def test_tool_arguments_that_are_not_an_object_are_an_upstream_error(arguments: str) -> None:
    calls = [
        {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    ]
    with pytest.raises(UpstreamError) as caught:
        chat_to_message(completion(None, finish_reason="tool_calls", tool_calls=calls), "m")
    assert "get_weather" in caught.value.message
    assert caught.value.code == "upstream_bad_response"


@pytest.mark.parametrize(
    ("chat_id", "expected"),
    [("chatcmpl-abc", "msg_abc"), ("msg_keep", "msg_keep"), ("0193-xyz", "msg_0193-xyz")],
)
def test_message_ids_carry_the_completion_id(chat_id: str, expected: str) -> None:
    assert message_id(chat_id) == expected


def test_a_missing_completion_id_gets_a_fresh_message_id() -> None:
    first, second = message_id(""), message_id("chatcmpl-")
    assert first.startswith("msg_")
    assert len(first) > 8
    assert first != second


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "exception"),
    [
        (400, "invalid_request_error", anthropic.BadRequestError),
        (401, "authentication_error", anthropic.AuthenticationError),
        (403, "permission_error", anthropic.PermissionDeniedError),
        (404, "not_found_error", anthropic.NotFoundError),
        (413, "request_too_large", anthropic.APIStatusError),
        (422, "invalid_request_error", anthropic.UnprocessableEntityError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
        (502, "api_error", anthropic.InternalServerError),
        (503, "overloaded_error", anthropic.InternalServerError),
        (504, "timeout_error", anthropic.InternalServerError),
        (529, "overloaded_error", anthropic.InternalServerError),
    ],
)
def test_error_bodies_have_anthropic_types_the_sdk_raises_on(
    status: int, error_type: str, exception: type[anthropic.APIStatusError]
) -> None:
    body = anthropic_error_body(status, "something went wrong")
    assert body == {
        "type": "error",
        "error": {"type": error_type, "message": "something went wrong"},
    }
    if error_type != "request_too_large":  # documented by Anthropic, not in the SDK's union
        assert ErrorResponse.model_validate(body).error.type == error_type

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    with sdk_client(handler) as client, pytest.raises(exception) as caught:
        client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == status
    assert caught.value.body == body
