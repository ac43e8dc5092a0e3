"""Wire dialects of the chat pipeline: how a client's API shape maps onto the canonical one.

The pipeline works on OpenAI chat-completions bodies. A dialect turns an inbound body into one,
validated (``to_chat``), and turns what comes back (a completion, stream chunks, errors) into
the client's shape. The OpenAI dialect is the identity;
``zonegate.gateway.anthropic_dialect`` speaks Anthropic's Messages API. Policy, detection and
audit never see the difference.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.responses import Response

from zonegate.errors import ZonegateError
from zonegate.gateway.errors import error_event, error_response
from zonegate.gateway.sse import DONE, sse_event
from zonegate.gateway.steps import validated
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest


class StreamEncoder(Protocol):
    """Encodes one stream for the client; stateful, one per stream."""

    def chunk(self, chunk: ChatCompletionChunk) -> list[bytes]:
        """SSE events for one canonical chunk (possibly none)."""

    def done(self) -> list[bytes]:
        """Events that end a stream that finished normally."""

    def error(self, exc: ZonegateError) -> list[bytes]:
        """Events that end a stream with an error."""


class Dialect(Protocol):
    endpoint: str  # as named in the audit record

    def to_chat(self, data: dict[str, Any]) -> tuple[dict[str, Any], ChatCompletionRequest]:
        """The canonical chat body for an inbound one, and that body validated (each is
        built once); ``InvalidRequest`` if it is not valid."""

    def completion(self, completion: ChatCompletion, requested_model: str) -> bytes:
        """The JSON body answering a non-streaming request."""

    def encoder(self, requested_model: str, include_usage: bool) -> StreamEncoder: ...

    def error_response(self, exc: ZonegateError) -> Response: ...


class OpenAIDialect:
    """OpenAI chat completions: bodies pass through unchanged."""

    endpoint = "chat.completions"

    def to_chat(self, data: dict[str, Any]) -> tuple[dict[str, Any], ChatCompletionRequest]:
        return data, validated(ChatCompletionRequest, data, "chat-completions")

    def completion(self, completion: ChatCompletion, requested_model: str) -> bytes:
        return completion.__pydantic_serializer__.to_json(completion, exclude_none=True)

    def encoder(self, requested_model: str, include_usage: bool) -> StreamEncoder:
        return _OpenAIEncoder(include_usage)

    def error_response(self, exc: ZonegateError) -> Response:
        return error_response(exc)


class _OpenAIEncoder:
    __slots__ = ("_include_usage",)

    def __init__(self, include_usage: bool) -> None:
        self._include_usage = include_usage

    def chunk(self, chunk: ChatCompletionChunk) -> list[bytes]:
        if chunk.usage is not None and not self._include_usage:
            if not chunk.choices:
                return []
            chunk = chunk.model_copy(update={"usage": None})
        return [sse_event(chunk.__pydantic_serializer__.to_json(chunk, exclude_none=True))]

    def done(self) -> list[bytes]:
        return [DONE]

    def error(self, exc: ZonegateError) -> list[bytes]:
        return [error_event(exc)]
