"""Chat completion chunks as an Anthropic ``/v1/messages`` event stream. Pure: no I/O.

Anthropic streams content as numbered blocks (``content_block_start``, deltas,
``content_block_stop``) between ``message_start`` and ``message_delta`` + ``message_stop``; chat
streams interleave text and tool-call fragments in one delta. ``ChatChunksToEvents`` keeps the
one open block and turns each change of kind into a stop and a start. Stop reason and usage are
held for ``finish`` because a chat stream sends its usage in a last chunk after the finish
reason.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from zonegate.errors import UpstreamError
from zonegate.wire.anthropic_translate import (
    anthropic_error_body,
    anthropic_usage,
    message_id as anthropic_message_id,
    stop_reason,
)
from zonegate.wire.openai_chat import ChatCompletionChunk, Delta, Usage

Event = dict[str, Any]
# A keep-alive the endpoint may send while the upstream is slow; clients skip it.
PING = b'event: ping\ndata: {"type":"ping"}\n\n'


@dataclass
class _PendingTool:
    """A tool call whose name has not arrived yet: its block cannot open without one."""

    index: int
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChatChunksToEvents:
    """Chat completion chunks in, Anthropic stream events (dicts, in order) out.

    Call ``feed`` with each chunk and ``finish`` when the chunks end; ``start`` gives
    ``message_start`` before the first chunk if wanted. Only the first choice is read. A failure
    mid-stream is reported by ending with ``error_event`` instead of ``finish``.
    """

    def __init__(self, model: str, *, message_id: str | None = None, input_tokens: int = 0):
        self._model = model
        self._id = message_id
        self._input_tokens = input_tokens
        self._started = False
        self._finished = False
        self._index = -1  # the newest block's index
        self._open: str | None = None  # "text" or "tool_use" while a block is open
        self._tool: int | None = None  # the chat tool-call index of the open tool_use block
        self._pending: _PendingTool | None = None
        self._closed_tools: set[int] = set()
        self._tool_use = False
        self._finish_reason: str | None = None
        self._usage: Usage | None = None

    def start(self, chunk_id: str = "") -> list[Event]:
        """``message_start``, once."""
        if self._started:
            return []
        self._started = True
        self._id = self._id or anthropic_message_id(chunk_id)
        message: Event = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._input_tokens, "output_tokens": 0},
        }
        return [{"type": "message_start", "message": message}]

    def feed(self, chunk: ChatCompletionChunk) -> list[Event]:
        if self._finished:
            return []
        events = self.start(chunk.id)
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            events += self._delta(choice.delta)
            if choice.finish_reason:
                self._finish_reason = choice.finish_reason
        return events

    def finish(self) -> list[Event]:
        """The open block's stop, ``message_delta`` (stop reason, usage) and ``message_stop``."""
        if self._finished:
            return []
        events = self.start()
        if self._pending is not None:
            raise _nameless(self._pending)
        events += self._close()
        self._finished = True
        usage: dict[str, int] = {"output_tokens": 0}
        if self._usage is not None:
            usage = anthropic_usage(self._usage)
        reason = stop_reason(self._finish_reason, tool_use=self._tool_use)
        delta = {"stop_reason": reason, "stop_sequence": None}
        events.append({"type": "message_delta", "delta": delta, "usage": usage})
        events.append({"type": "message_stop"})
        return events

    # -- blocks ------------------------------------------------------------------------------

    def _delta(self, delta: Delta) -> list[Event]:
        events: list[Event] = []
        refusal = (delta.model_extra or {}).get("refusal")
        for text in (delta.content, refusal):
            if isinstance(text, str) and text:
                events += self._text(text)
        for call in delta.tool_calls or ():
            events += self._tool_fragment(call)
        return events

    def _text(self, text: str) -> list[Event]:
        events: list[Event] = []
        if self._open != "text":
            if self._pending is not None:
                raise _nameless(self._pending)
            events += self._close()
            events.append(self._open_block("text", {"type": "text", "text": ""}))
        events.append(self._block_delta({"type": "text_delta", "text": text}))
        return events

    def _tool_fragment(self, call: dict[str, Any]) -> list[Event]:
        index = call.get("index")
        index = index if isinstance(index, int) else 0
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        name, arguments, call_id = function.get("name"), function.get("arguments"), call.get("id")
        events: list[Event] = []
        if self._open == "tool_use" and self._tool == index:
            if isinstance(arguments, str) and arguments:
                events.append(
                    self._block_delta({"type": "input_json_delta", "partial_json": arguments})
                )
            return events
        pending = self._pending
        if pending is None or pending.index != index:
            if pending is not None:
                raise _nameless(pending)
            if index in self._closed_tools:
                raise UpstreamError(
                    f"the upstream streamed tool call {index} in pieces interleaved with "
                    "another, which Anthropic content blocks cannot express",
                    code="upstream_bad_response",
                )
            events += self._close()
            pending = self._pending = _PendingTool(index)
        if isinstance(call_id, str) and call_id:
            pending.id = call_id
        if isinstance(name, str) and name:
            pending.name = name
        if isinstance(arguments, str) and arguments:
            pending.arguments.append(arguments)
        if pending.name:
            events += self._open_tool(pending)
        return events

    def _open_tool(self, pending: _PendingTool) -> list[Event]:
        self._pending = None
        self._tool = pending.index
        self._tool_use = True
        block = {
            "type": "tool_use",
            "id": pending.id or f"toolu_{uuid.uuid4().hex}",
            "name": pending.name,
            "input": {},
        }
        events = [self._open_block("tool_use", block)]
        if pending.arguments:
            partial = "".join(pending.arguments)
            events.append(self._block_delta({"type": "input_json_delta", "partial_json": partial}))
        return events

    def _open_block(self, kind: str, block: Event) -> Event:
        self._index += 1
        self._open = kind
        return {"type": "content_block_start", "index": self._index, "content_block": block}

    def _block_delta(self, delta: Event) -> Event:
        return {"type": "content_block_delta", "index": self._index, "delta": delta}

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        if self._tool is not None:
            self._closed_tools.add(self._tool)
        self._open = self._tool = None
        return [{"type": "content_block_stop", "index": self._index}]


def _nameless(pending: _PendingTool) -> UpstreamError:
    return UpstreamError(
        f"the upstream streamed tool call {pending.index} without a function name",
        code="upstream_bad_response",
    )


def encode_event(event: Event) -> bytes:
    """One event as Anthropic frames it: ``event: <type>`` then ``data: <json>``."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def error_event(status: int, message: str) -> bytes:
    """The ``error`` event that ends a stream which failed after it began."""
    return encode_event(anthropic_error_body(status, message))
