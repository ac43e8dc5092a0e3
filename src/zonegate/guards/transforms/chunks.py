"""Restoring pseudonyms in chat completions and in streamed chunks.

Restored: every choice's text fields (``content``, and text the upstream adds beside it such as
``refusal`` or ``reasoning_content``) and its tool-call ``arguments``, where values are inserted
JSON-escaped because the placeholders sit inside JSON strings there.

Streaming keeps one ``StreamRestorer`` per (choice, text field) and per (choice, tool call). A
choice's held-back tail is released in the chunk that carries its ``finish_reason``, so a normal
stream needs nothing more; ``flush`` returns a chunk with whatever is left for choices that never
finished (the upstream broke off), to send before the error event or ``[DONE]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zonegate.wire.openai_chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    ToolCall,
)

if TYPE_CHECKING:
    from zonegate.guards.transforms.pseudonyms import Pseudonyms, StreamRestorer

# A stream within a response: (choice index, text field name or tool-call index).
_Key = tuple[int, str | int]


def restore_completion(
    pseudonyms: Pseudonyms, completion: ChatCompletion, *, json_content: bool = False
) -> ChatCompletion:
    """A copy of ``completion`` with placeholders restored in every choice."""
    if not len(pseudonyms):
        return completion
    choices = [_restore_choice(pseudonyms, c, json_content) for c in completion.choices]
    return completion.model_copy(update={"choices": choices})


def _restore_choice(pseudonyms: Pseudonyms, choice: Choice, json_content: bool) -> Choice:
    message = choice.message
    update: dict[str, Any] = {}
    for name, text in _text_fields(message):
        update[name] = pseudonyms.restore(text, json_string=json_content and name == "content")
    if message.tool_calls:
        update["tool_calls"] = [_restore_call(pseudonyms, call) for call in message.tool_calls]
    new: AssistantMessage = message.model_copy(update=update)
    return choice.model_copy(update={"message": new})


def _restore_call(pseudonyms: Pseudonyms, call: ToolCall) -> ToolCall:
    arguments = pseudonyms.restore(call.function.arguments, json_string=True)
    function = call.function.model_copy(update={"arguments": arguments})
    return call.model_copy(update={"function": function})


def _text_fields(model: AssistantMessage | Delta) -> list[tuple[str, str]]:
    fields = [("content", model.content)] if model.content else []
    if model.model_extra:
        fields.extend((k, v) for k, v in model.model_extra.items() if isinstance(v, str) and v)
    return fields


class ChunkRestorer:
    """Restores one streamed response, chunk by chunk; see the module docstring."""

    __slots__ = ("_json_content", "_last", "_pseudonyms", "_streams")

    def __init__(self, pseudonyms: Pseudonyms, *, json_content: bool = False) -> None:
        self._pseudonyms = pseudonyms
        self._json_content = json_content
        self._streams: dict[_Key, StreamRestorer] = {}
        self._last: ChatCompletionChunk | None = None

    def __repr__(self) -> str:
        held = sum(s.held for s in self._streams.values())
        return f"ChunkRestorer({len(self._streams)} streams, holding {held} chars)"

    @property
    def held(self) -> int:
        """Characters held back now, over all streams."""
        return sum(s.held for s in self._streams.values())

    def restore(self, chunk: ChatCompletionChunk) -> ChatCompletionChunk:
        """``chunk`` with what can be released now; finished choices also get their tail."""
        if not chunk.choices or not len(self._pseudonyms):
            return chunk
        self._last = chunk
        choices = [self._choice(c) for c in chunk.choices]
        return chunk.model_copy(update={"choices": choices})

    def flush(self) -> list[ChatCompletionChunk]:
        """At the end of the stream: a chunk with what unfinished choices still hold, if any."""
        if self._last is None:
            return []
        choices: list[ChunkChoice] = []
        for index in sorted({key[0] for key in self._streams}):
            tails = self._tails(index)
            if tails:
                delta = Delta()
                choices.append(ChunkChoice(index=index, delta=self._append(delta, tails)))
        self._streams.clear()
        if not choices:
            return []
        return [self._last.model_copy(update={"choices": choices, "usage": None})]

    def _choice(self, choice: ChunkChoice) -> ChunkChoice:
        index, delta = choice.index, choice.delta
        update: dict[str, Any] = {}
        for name, text in _text_fields(delta):
            json_string = self._json_content and name == "content"
            update[name] = self._stream((index, name), json_string).feed(text)
        if delta.tool_calls:
            update["tool_calls"] = [
                self._tool_delta(index, position, call)
                for position, call in enumerate(delta.tool_calls)
            ]
        new = delta.model_copy(update=update) if update else delta
        if choice.finish_reason is not None:
            tails = self._tails(index)
            if tails:
                new = self._append(new, tails)
        if new is delta:
            return choice
        return choice.model_copy(update={"delta": new})

    def _tool_delta(self, index: int, position: int, call: dict[str, Any]) -> dict[str, Any]:
        function = call.get("function")
        if not isinstance(function, dict):
            return call
        arguments = function.get("arguments")
        if not isinstance(arguments, str) or not arguments:
            return call
        key = call.get("index")
        if not isinstance(key, int):
            key = position
        released = self._stream((index, key), True).feed(arguments)
        return {**call, "function": {**function, "arguments": released}}

    def _stream(self, key: _Key, json_string: bool) -> StreamRestorer:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._pseudonyms.stream_restorer(json_string=json_string)
            self._streams[key] = stream
        return stream

    def _tails(self, index: int) -> dict[str | int, str]:
        """Flush and forget every stream of choice ``index``; the non-empty tails."""
        tails: dict[str | int, str] = {}
        for key in [k for k in self._streams if k[0] == index]:
            tail = self._streams.pop(key).flush()
            if tail:
                tails[key[1]] = tail
        return tails

    @staticmethod
    def _append(delta: Delta, tails: dict[str | int, str]) -> Delta:
        update: dict[str, Any] = {}
        calls = [dict(c) for c in delta.tool_calls or ()]
        for field, tail in tails.items():
            if isinstance(field, str):
                current = getattr(delta, field, None)
                update[field] = (current if isinstance(current, str) else "") + tail
                continue
            for i, call in enumerate(calls):
                if call.get("index", i) == field:
                    function = dict(call.get("function") or {})
                    function["arguments"] = str(function.get("arguments") or "") + tail
                    calls[i] = {**call, "function": function}
                    break
            else:
                calls.append({"index": field, "function": {"arguments": tail}})
        if calls:
            update["tool_calls"] = calls
        return delta.model_copy(update=update)
