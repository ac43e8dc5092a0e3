"""The official SDKs as the judges of the Anthropic translation.

``sdk_request`` captures the JSON body the ``anthropic`` SDK sends for a ``messages.create``
call; ``FakeGateway`` answers the SDK through an in-memory transport with the translation under
test (no network); ``as_sdk_param`` validates a body against one of the SDK's request TypedDicts
and gives back what the SDK's types keep of it, so comparing with the body also catches keys the
SDK does not know.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx2 as httpx
from pydantic import TypeAdapter

from zonegate.wire.anthropic import MessagesRequest, parse_messages_request
from zonegate.wire.anthropic_sse import ChatChunksToEvents, encode_event
from zonegate.wire.anthropic_translate import (
    anthropic_error_body,
    chat_to_message,
    messages_to_chat,
)
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest

BASE_URL = "http://gateway.test"
Reply = Callable[[ChatCompletionRequest], ChatCompletion | list[ChatCompletionChunk]]


def sdk_client(handler: Callable[[httpx.Request], httpx.Response]) -> anthropic.Anthropic:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return anthropic.Anthropic(
        api_key="test-key", base_url=BASE_URL, http_client=http, max_retries=0
    )


def sdk_request(**kwargs: Any) -> dict[str, Any]:
    """The body ``client.messages.create(**kwargs)`` sends."""
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(400, json=anthropic_error_body(400, "captured"))

    with sdk_client(handler) as client, contextlib.suppress(anthropic.BadRequestError):
        client.messages.create(**kwargs)
    assert len(sent) == 1
    return sent[0]


class FakeGateway:
    """A ``/v1/messages`` endpoint made of the translation: validate, translate, answer."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[MessagesRequest] = []
        self.chats: list[ChatCompletionRequest] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        req = parse_messages_request(json.loads(request.content))
        chat = messages_to_chat(req)
        self.requests.append(req)
        self.chats.append(chat)
        answer = self.reply(chat)
        if isinstance(answer, ChatCompletion):
            return httpx.Response(200, json=chat_to_message(answer, req.model))
        stream = ChatChunksToEvents(req.model)
        frames = [encode_event(e) for chunk in answer for e in stream.feed(chunk)]
        frames += [encode_event(e) for e in stream.finish()]
        return httpx.Response(
            200, content=b"".join(frames), headers={"content-type": "text/event-stream"}
        )

    def client(self) -> anthropic.Anthropic:
        return sdk_client(self)


def as_sdk_param(adapter: TypeAdapter[Any], body: dict[str, Any]) -> Any:
    """``body`` validated as the SDK's TypedDict, every lazily checked iterable consumed."""
    return _materialize(adapter.validate_python(body))


def _materialize(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _materialize(item) for key, item in value.items()}
    if isinstance(value, list | tuple | Iterator):
        return [_materialize(item) for item in value]
    return value


def completion(
    content: str | None = "",
    *,
    finish_reason: str | None = "stop",
    tool_calls: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    **message: Any,
) -> ChatCompletion:
    """A chat completion as an upstream returns it."""
    body: dict[str, Any] = {
        "id": "chatcmpl-abc123",
        "created": 1_700_000_000,
        "model": "served-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish_reason,
            }
        ],
    }
    if tool_calls is not None:
        body["choices"][0]["message"]["tool_calls"] = tool_calls
    if usage is not None:
        body["usage"] = usage
    return ChatCompletion.model_validate(body)


def chunk(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
    index: int = 0,
    **delta: Any,
) -> ChatCompletionChunk:
    """A chat completion chunk; ``usage`` alone gives the choice-less last chunk."""
    body: dict[str, Any] = {"id": "chatcmpl-s1", "created": 1, "model": "served-model"}
    if usage is not None and content is None and tool_calls is None and finish_reason is None:
        body["choices"] = []
    else:
        fields = {"content": content, "tool_calls": tool_calls, **delta}
        choice_delta = {k: v for k, v in fields.items() if v is not None}
        body["choices"] = [{"index": index, "delta": choice_delta, "finish_reason": finish_reason}]
    if usage is not None:
        body["usage"] = usage
    return ChatCompletionChunk.model_validate(body)


def tool_call(
    index: int, *, id: str | None = None, name: str | None = None, arguments: str | None = None
) -> dict[str, Any]:
    """One streamed tool-call fragment, as OpenAI sends it."""
    function = {k: v for k, v in {"name": name, "arguments": arguments}.items() if v is not None}
    out: dict[str, Any] = {"index": index, "function": function}
    if id is not None:
        out["id"] = id
        out["type"] = "function"
    return out
