"""An Anthropic ``/v1/messages`` event stream as chat completion chunks. Pure: no I/O.

The provider feeds each SSE ``data:`` payload here, raw or parsed. Text deltas become
content, each ``tool_use`` block a tool call with its own index (id and name first, then the
``input_json_delta`` fragments as argument text), ``message_delta`` the finish reason and a
usage chunk with no choices (as chat streams send it). An ``error`` event raises
``UpstreamError``; ``ping``, stops, thinking and event types added later carry nothing to
translate. ``finished`` says whether the stream reached its end, so a cut-off stream is not
taken for a whole answer.
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import ValidationError

from zonegate.errors import UpstreamError
from zonegate.wire.anthropic import (
    STREAM_EVENT,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ErrorEvent,
    MessageDeltaEvent,
    MessageStartEvent,
    OtherEvent,
    TextBlock,
    ToolUseBlock,
)
from zonegate.wire.anthropic_outbound import IGNORED_BLOCKS, STOP_TO_CHAT, bad_response, chat_usage
from zonegate.wire.openai_chat import ChatCompletionChunk, ChunkChoice, Delta, Usage

# What a block index stands for: its text, a chat tool-call index, or nothing to translate.
_TEXT = "text"
_SKIP = "skip"


class EventsToChatChunks:
    """Anthropic stream events (parsed JSON) in, chat completion chunks out."""

    def __init__(self, served_model: str, *, created: int | None = None) -> None:
        self._id = ""
        self._model = served_model
        self._created = int(time.time()) if created is None else created
        self._blocks: dict[int, str | int] = {}
        self._tools = 0
        self._input = (0, 0, 0)  # input, cache write, cache read tokens from message_start
        self._finished = False

    @property
    def finished(self) -> bool:
        """Whether a stop reason or ``message_stop`` arrived."""
        return self._finished

    def feed(self, event: Any) -> list[ChatCompletionChunk]:
        """Chunks for one event: an SSE ``data:`` payload (bytes or text) or its parsed JSON."""
        try:
            if isinstance(event, bytes | str):
                parsed = STREAM_EVENT.validate_json(event)
            else:
                parsed = STREAM_EVENT.validate_python(event)
        except ValidationError as exc:
            raise bad_response("stream event", exc) from None
        if isinstance(parsed, MessageStartEvent):
            return self._message_start(parsed)
        if isinstance(parsed, ContentBlockStartEvent):
            return self._block_start(parsed)
        if isinstance(parsed, ContentBlockDeltaEvent):
            return self._block_delta(parsed)
        if isinstance(parsed, MessageDeltaEvent):
            return self._message_delta(parsed)
        if isinstance(parsed, ErrorEvent):
            error = parsed.error
            raise UpstreamError(
                "the Anthropic upstream reported an error mid-stream: "
                f"{error.type}: {error.message or 'no reason given'}",
                code="upstream_stream_error",
            )
        if isinstance(parsed, OtherEvent) and parsed.type == "message_stop":
            self._finished = True
        return []

    def _message_start(self, event: MessageStartEvent) -> list[ChatCompletionChunk]:
        message = event.message
        self._id = message.id
        self._model = message.model or self._model
        usage = message.usage
        self._input = (
            usage.input_tokens,
            usage.cache_creation_input_tokens or 0,
            usage.cache_read_input_tokens or 0,
        )
        return [self._chunk(Delta(role="assistant", content=""))]

    def _block_start(self, event: ContentBlockStartEvent) -> list[ChatCompletionChunk]:
        block = event.content_block
        if isinstance(block, TextBlock):
            self._blocks[event.index] = _TEXT
            return [self._chunk(Delta(content=block.text))] if block.text else []
        if isinstance(block, ToolUseBlock):
            index = self._blocks[event.index] = self._tools
            self._tools += 1
            arguments = json.dumps(block.input, ensure_ascii=False) if block.input else ""
            call = {
                "index": index,
                "id": block.id,
                "type": "function",
                "function": {"name": block.name, "arguments": arguments},
            }
            return [self._chunk(Delta(tool_calls=[call]))]
        if block.type in IGNORED_BLOCKS:
            self._blocks[event.index] = _SKIP
            return []
        raise UpstreamError(
            f"the Anthropic upstream streamed a {block.type!r} block, which a chat completion "
            "cannot carry",
            code="upstream_bad_response",
        )

    def _block_delta(self, event: ContentBlockDeltaEvent) -> list[ChatCompletionChunk]:
        kind = self._blocks.get(event.index)
        delta = event.delta
        if kind is None:
            raise _out_of_order(f"a delta for content block {event.index} before its start")
        if delta.type == "text_delta":
            if kind != _TEXT:
                raise _out_of_order(f"a text delta for content block {event.index}, not text")
            return [self._chunk(Delta(content=delta.text))] if delta.text else []
        if delta.type == "input_json_delta":
            if not isinstance(kind, int):
                raise _out_of_order(f"tool input for content block {event.index}, not a tool_use")
            if not delta.partial_json:
                return []
            call = {"index": kind, "function": {"arguments": delta.partial_json}}
            return [self._chunk(Delta(tool_calls=[call]))]
        return []  # thinking, signatures, citations

    def _message_delta(self, event: MessageDeltaEvent) -> list[ChatCompletionChunk]:
        chunks: list[ChatCompletionChunk] = []
        reason = event.delta.stop_reason
        if reason is not None:
            self._finished = True
            finish = STOP_TO_CHAT.get(reason, "stop")
            chunks.append(self._chunk(Delta(), finish_reason=finish))
        usage = event.usage
        start_input, start_write, start_read = self._input
        totals = chat_usage(
            start_input if usage.input_tokens is None else usage.input_tokens,
            usage.output_tokens,
            _either(usage.cache_creation_input_tokens, start_write),
            _either(usage.cache_read_input_tokens, start_read),
        )
        chunks.append(self._usage_chunk(totals))
        return chunks

    def _chunk(self, delta: Delta, finish_reason: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=self._id,
            created=self._created,
            model=self._model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)],
        )

    def _usage_chunk(self, usage: Usage) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=self._id, created=self._created, model=self._model, choices=[], usage=usage
        )


def _either(value: int | None, fallback: int) -> int:
    """Usage counts on ``message_delta`` are cumulative and optional: absent keeps the start's."""
    return fallback if value is None else value


def _out_of_order(what: str) -> UpstreamError:
    return UpstreamError(f"the Anthropic upstream sent {what}", code="upstream_bad_response")
