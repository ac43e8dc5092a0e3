"""The output guard of one request: scans the upstream's answer before the caller sees it.

Runs on what the upstream sent, before pseudonyms are restored, so the caller's own values that
come back restored are never flagged. Non-streaming answers are checked whole; streams go through
``ChunkGuard``. ``verdict()`` is what the audit records: counts by type, never values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from zonegate.guards.output.rules import OutputRules
from zonegate.guards.output.scan import OutputScanner, blocked_types, output_blocked, redact
from zonegate.guards.output.stream import ChunkGuard
from zonegate.guards.output.tools import ToolChecker, ToolRules, tool_call_blocked
from zonegate.guards.transforms.scanning import Scanner
from zonegate.wire.openai_chat import AssistantMessage, ChatCompletion, Choice, ToolCall


class OutputGuard:
    """Built per request when its route has something to check (see ``build``)."""

    __slots__ = ("blocked", "redacted", "scanner", "tools")

    def __init__(self, scanner: OutputScanner | None, tools: ToolChecker | None) -> None:
        self.scanner = scanner
        self.tools = tools
        self.redacted: dict[str, int] = {}
        self.blocked: dict[str, int] = {}

    @classmethod
    def build(
        cls,
        classifier: Scanner,
        rules: OutputRules,
        tool_rules: ToolRules | None,
        declared_tools: Sequence[Mapping[str, Any]] | None,
    ) -> OutputGuard | None:
        """``None`` when the route allows everything (then the answer is not touched)."""
        scanner = OutputScanner(classifier, rules) if rules.active else None
        tools = ToolChecker(tool_rules, declared_tools) if tool_rules is not None else None
        if scanner is None and tools is None:
            return None
        return cls(scanner, tools)

    def verdict(self) -> dict[str, Any] | None:
        """For ``guard_verdicts["output"]``; ``None`` when nothing was redacted or blocked."""
        if not self.redacted and not self.blocked:
            return None
        out: dict[str, Any] = {"action": "block" if self.blocked else "redact"}
        if self.redacted:
            out["redacted"] = dict(self.redacted)
        if self.blocked:
            out["blocked"] = dict(self.blocked)
        return out

    def check_tool(self, name: str, arguments: str) -> None:
        """Raise ``tool_call_blocked`` (and record it) if this call may not be released."""
        if self.tools is None:
            return
        reason = self.tools.problem(name, arguments)
        if reason is not None:
            self.blocked[reason] = self.blocked.get(reason, 0) + 1
            raise tool_call_blocked(reason, name)

    def block(self, types: Mapping[str, int]) -> NoReturn:
        for name, n in types.items():
            self.blocked[name] = self.blocked.get(name, 0) + n
        raise output_blocked(dict(types))

    def check(self, completion: ChatCompletion) -> ChatCompletion:
        """``completion`` with hidden data redacted; raises if the route blocks what it holds."""
        for choice in completion.choices:
            for call in choice.message.tool_calls or ():
                self.check_tool(call.function.name, call.function.arguments)
        if self.scanner is None:
            return completion
        choices = [self._choice(choice) for choice in completion.choices]
        if all(new is old for new, old in zip(choices, completion.choices, strict=True)):
            return completion
        return completion.model_copy(update={"choices": choices})

    def chunk_guard(self) -> ChunkGuard:
        return ChunkGuard(self)

    def _choice(self, choice: Choice) -> Choice:
        assert self.scanner is not None
        message = choice.message
        fields = _text_fields(message)
        calls = message.tool_calls or []
        texts = [text for _, text in fields] + [c.function.arguments for c in calls]
        if not any(texts):
            return choice
        hits = self.scanner.scan(texts)
        blocked: dict[str, int] = {}
        for found in hits:
            for name, n in blocked_types(found).items():
                blocked[name] = blocked.get(name, 0) + n
        if blocked:
            self.block(blocked)
        if not any(hits):
            return choice
        update: dict[str, Any] = {}
        for (name, text), found in zip(fields, hits, strict=False):
            if found:
                update[name] = redact(text, found, self.redacted)
        if calls:
            new_calls: list[ToolCall] = []
            for call, found in zip(calls, hits[len(fields) :], strict=True):
                if found:
                    arguments = redact(call.function.arguments, found, self.redacted)
                    function = call.function.model_copy(update={"arguments": arguments})
                    call = call.model_copy(update={"function": function})
                new_calls.append(call)
            update["tool_calls"] = new_calls
        new: AssistantMessage = message.model_copy(update=update)
        return choice.model_copy(update={"message": new})


def _text_fields(message: AssistantMessage) -> list[tuple[str, str]]:
    fields = [("content", message.content)] if message.content else []
    if message.model_extra:
        fields.extend((k, v) for k, v in message.model_extra.items() if isinstance(v, str) and v)
    return fields
