"""Gemini ``streamGenerateContent?alt=sse`` events turned into chat-completion chunks.

Each event is a whole ``GenerateContentResponse`` holding the next piece of the answer: text
pieces become ``content`` deltas, each function call (Gemini sends calls whole) one complete
``tool_calls`` delta with its own ``index``, and the event with a ``finishReason`` (or a prompt
block) one chunk with the ``finish_reason``. The first chunk carries ``role: assistant``. Usage
comes in several events, growing; the last one seen is sent by ``finish()`` as a chunk with no
choices, as OpenAI's ``include_usage`` does. A stream that ends without a finish reason was cut
short and ``finish()`` raises, so a truncated answer does not pass for a whole one.
"""

from __future__ import annotations

import time
from typing import Any

from zonegate.errors import UpstreamError
from zonegate.wire.gemini.response import completion_id, finish_reason, read_turn
from zonegate.wire.openai_chat import ChatCompletionChunk, ChunkChoice, Delta, Usage


class GeminiStreamToChunks:
    """Translates one stream, event by event; create one per upstream response."""

    def __init__(self, served_model: str, *, created: int | None = None) -> None:
        self._id = ""
        self._model = served_model
        self._created = int(time.time()) if created is None else created
        self._role_sent = False
        self._calls = 0
        self._finished = False
        self._usage: Usage | None = None

    @property
    def finished(self) -> bool:
        """Whether a finish reason has been sent."""
        return self._finished

    def feed(self, event: object) -> list[ChatCompletionChunk]:
        """The chunks for one parsed event (``UpstreamError`` for an error or malformed one)."""
        turn = read_turn(event, error_code="upstream_stream_error")
        self._id = self._id or turn.response_id or completion_id()
        self._model = turn.model_version or self._model
        self._usage = turn.usage or self._usage
        if self._finished:
            return []  # after the finish reason only usage is still of interest
        chunks: list[ChatCompletionChunk] = []
        if turn.text:
            chunks.append(self._chunk(Delta(content=turn.text)))
        if turn.calls:
            deltas = []
            for call in turn.calls:
                deltas.append({"index": self._calls, **call.model_dump(exclude_none=True)})
                self._calls += 1
            chunks.append(self._chunk(Delta(tool_calls=deltas)))
        reason = finish_reason(turn, calls_made=self._calls > 0)
        if reason is not None:
            self._finished = True
            native = turn.native_finish or turn.block_reason
            chunks.append(self._chunk(Delta(), reason, native))
        return chunks

    def finish(self) -> list[ChatCompletionChunk]:
        """The closing usage chunk, once the stream has ended; raises if it was cut short."""
        if not self._finished:
            raise UpstreamError(
                "Gemini's stream ended before it finished (no finishReason)",
                code="upstream_bad_response",
            )
        if self._usage is None:
            return []
        return [
            ChatCompletionChunk(
                id=self._id, created=self._created, model=self._model, usage=self._usage
            )
        ]

    def _chunk(
        self, delta: Delta, reason: str | None = None, native: str | None = None
    ) -> ChatCompletionChunk:
        if not self._role_sent:
            delta.role = "assistant"
            self._role_sent = True
        choice: dict[str, Any] = {"delta": delta, "finish_reason": reason}
        if native is not None:
            choice["native_finish_reason"] = native
        return ChatCompletionChunk(
            id=self._id,
            created=self._created,
            model=self._model,
            choices=[ChunkChoice.model_validate(choice)],
        )
