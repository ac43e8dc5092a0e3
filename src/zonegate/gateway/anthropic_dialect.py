"""Anthropic's Messages API (``POST /v1/messages``) as a dialect of the chat pipeline.

Tools that speak Anthropic's API (the ``anthropic`` SDK, agents built on it) use the gateway
unchanged: the request becomes a canonical chat request, so policy, detection, transforms, output
guards, routing (to any provider, not only Anthropic) and audit apply exactly as for
``/v1/chat/completions``; the answer, its stream events and errors come back in Anthropic's shape.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from zonegate.errors import ZonegateError
from zonegate.gateway.dialect import StreamEncoder
from zonegate.wire.anthropic import parse_messages_request
from zonegate.wire.anthropic_sse import ChatChunksToEvents, encode_event, error_event
from zonegate.wire.anthropic_translate import (
    anthropic_error_body,
    chat_to_message,
    messages_to_chat,
)
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest


class AnthropicDialect:
    endpoint = "messages"

    def to_chat(self, data: dict[str, Any]) -> tuple[dict[str, Any], ChatCompletionRequest]:
        chat = messages_to_chat(parse_messages_request(data))
        return chat.model_dump(mode="json", exclude_none=True, exclude_unset=True), chat

    def completion(self, completion: ChatCompletion, requested_model: str) -> bytes:
        return json.dumps(chat_to_message(completion, requested_model)).encode()

    def encoder(self, requested_model: str, include_usage: bool) -> StreamEncoder:
        return _AnthropicEncoder(requested_model)

    def error_response(self, exc: ZonegateError) -> Response:
        return Response(
            json.dumps(anthropic_error_body(exc.status, exc.message)),
            status_code=exc.status,
            media_type="application/json",
            headers=exc.headers,
        )


class _AnthropicEncoder:
    __slots__ = ("_events",)

    def __init__(self, model: str) -> None:
        self._events = ChatChunksToEvents(model)

    def chunk(self, chunk: ChatCompletionChunk) -> list[bytes]:
        return [encode_event(event) for event in self._events.feed(chunk)]

    def done(self) -> list[bytes]:
        try:
            return [encode_event(event) for event in self._events.finish()]
        except ZonegateError as exc:  # e.g. a tool call that never got a name
            return self.error(exc)

    def error(self, exc: ZonegateError) -> list[bytes]:
        return [error_event(exc.status, exc.message)]
