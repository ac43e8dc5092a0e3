"""The output guard on a stream: text through bounded windows, tool calls held until complete.

One ``TextWindow`` per (choice, text field) scans content as it flows, holding back a bounded
tail (see ``window``). Tool-call deltas are buffered whole until the choice's ``finish_reason``:
only then are the name and arguments known, so the call is checked against the route's tool rules
and scanned, and released in the finishing chunk as one delta per call, or the stream is blocked.
Content deltas keep flowing meanwhile. A tool call the upstream never finished is not released.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zonegate.guards.output.scan import blocked_types, redact
from zonegate.guards.output.window import TextWindow
from zonegate.wire.openai_chat import ChatCompletionChunk, ChunkChoice, Delta

if TYPE_CHECKING:
    from zonegate.guards.output.guard import OutputGuard


@dataclass(slots=True)
class _Call:
    id: str | None = None
    type: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChunkGuard:
    """Guards one streamed response, chunk by chunk; ``failed`` once it blocked or errored."""

    __slots__ = ("_calls", "_guard", "_last", "_windows", "failed")

    def __init__(self, guard: OutputGuard) -> None:
        self._guard = guard
        self._windows: dict[tuple[int, str], TextWindow] = {}
        self._calls: dict[tuple[int, int], _Call] = {}
        self._last: ChatCompletionChunk | None = None
        self.failed = False

    def __repr__(self) -> str:
        held = sum(w.held for w in self._windows.values())
        return f"ChunkGuard({len(self._windows)} windows holding {held} chars)"

    def guard(self, chunk: ChatCompletionChunk) -> ChatCompletionChunk:
        """``chunk`` with what may be released now; raises if the answer is blocked."""
        if not chunk.choices:
            return chunk
        self._last = chunk
        try:
            choices = [self._choice(c) for c in chunk.choices]
        except BaseException:
            self.failed = True
            raise
        return chunk.model_copy(update={"choices": choices})

    def verdict(self) -> dict[str, Any] | None:
        """For ``guard_verdicts["output"]``: counts by type, ``None`` when nothing was done."""
        return self._guard.verdict()

    def flush(self) -> list[ChatCompletionChunk]:
        """After an upstream failure: scanned tails of unfinished choices (nothing if failed)."""
        if self.failed or self._last is None:
            return []
        choices: list[ChunkChoice] = []
        for index in sorted({key[0] for key in self._windows}):
            tails = self._tails(index)
            if tails:
                choices.append(ChunkChoice(index=index, delta=Delta(**tails)))
        self._windows.clear()
        self._calls.clear()
        if not choices:
            return []
        return [self._last.model_copy(update={"choices": choices, "usage": None})]

    def _choice(self, choice: ChunkChoice) -> ChunkChoice:
        index, delta = choice.index, choice.delta
        scanning = self._guard.scanner is not None
        update: dict[str, Any] = {}
        if scanning:
            for name, text in _text_fields(delta):
                update[name] = self._window(index, name).feed(text)
        if delta.tool_calls:
            for position, call in enumerate(delta.tool_calls):
                self._buffer(index, position, call)
            update["tool_calls"] = None
        if choice.finish_reason is not None:
            for name, tail in self._tails(index).items():
                update[name] = (update.get(name) or "") + tail
            calls = self._finish_calls(index)
            if calls:
                update["tool_calls"] = calls
        if not update:
            return choice
        return choice.model_copy(update={"delta": delta.model_copy(update=update)})

    def _window(self, index: int, name: str) -> TextWindow:
        window = self._windows.get((index, name))
        if window is None:
            scanner = self._guard.scanner
            assert scanner is not None
            window = TextWindow(
                lambda text: scanner.scan([text])[0],
                self._guard.redacted,
                block=self._guard.block,
            )
            self._windows[(index, name)] = window
        return window

    def _tails(self, index: int) -> dict[str, str]:
        tails: dict[str, str] = {}
        for key in [k for k in self._windows if k[0] == index]:
            tail = self._windows.pop(key).flush()
            if tail:
                tails[key[1]] = tail
        return tails

    def _buffer(self, index: int, position: int, call: dict[str, Any]) -> None:
        key = call.get("index")
        slot = (index, key if isinstance(key, int) else position)
        buffered = self._calls.get(slot)
        if buffered is None:
            buffered = self._calls[slot] = _Call()
        if isinstance(call.get("id"), str):
            buffered.id = call["id"]
        if isinstance(call.get("type"), str):
            buffered.type = call["type"]
        function = call.get("function")
        if isinstance(function, dict):
            if isinstance(function.get("name"), str):
                buffered.name += function["name"]
            if isinstance(function.get("arguments"), str):
                buffered.arguments.append(function["arguments"])

    def _finish_calls(self, index: int) -> list[dict[str, Any]]:
        keys = sorted(k for k in self._calls if k[0] == index)
        if not keys:
            return []
        calls = [(k[1], self._calls.pop(k)) for k in keys]
        arguments = ["".join(call.arguments) for _, call in calls]
        for (_, call), args in zip(calls, arguments, strict=True):
            self._guard.check_tool(call.name, args)
        scanner = self._guard.scanner
        if scanner is not None:
            hits = scanner.scan(arguments)
            blocked: dict[str, int] = {}
            for found in hits:
                for name, n in blocked_types(found).items():
                    blocked[name] = blocked.get(name, 0) + n
            if blocked:
                self._guard.block(blocked)
            arguments = [
                redact(args, found, self._guard.redacted)
                for args, found in zip(arguments, hits, strict=True)
            ]
        out: list[dict[str, Any]] = []
        for (position, call), args in zip(calls, arguments, strict=True):
            item: dict[str, Any] = {"index": position}
            if call.id is not None:
                item["id"] = call.id
            item["type"] = call.type or "function"
            item["function"] = {"name": call.name, "arguments": args}
            out.append(item)
        return out


def _text_fields(delta: Delta) -> list[tuple[str, str]]:
    fields = [("content", delta.content)] if delta.content else []
    if delta.model_extra:
        fields.extend((k, v) for k, v in delta.model_extra.items() if isinstance(v, str) and v)
    return fields
