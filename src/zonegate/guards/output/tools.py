"""The per-route tool-call allow-list: a call the route does not allow is never released.

A call is blocked when its tool is not on the route's ``allowed`` list, or (with ``schemas``) when
the caller did not declare that tool in the request's ``tools``, or its arguments are not JSON
or fail the JSON Schema the caller declared for it (``function.parameters``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import exceptions as schema_errors, validators

from zonegate.errors import UpstreamError

NOT_ALLOWED = "tool_not_allowed"
UNDECLARED = "tool_not_declared"
BAD_ARGUMENTS = "tool_arguments_invalid"


@dataclass(frozen=True, slots=True)
class ToolRules:
    """``allowed``: tool names (``None``: any); ``schemas``: validate against the request."""

    allowed: frozenset[str] | None
    schemas: bool


class ToolChecker:
    """Checks the tool calls of one request's answer against the route's rules."""

    __slots__ = ("_declared", "_rules", "_validators")

    def __init__(self, rules: ToolRules, declared: Sequence[Mapping[str, Any]] | None) -> None:
        self._rules = rules
        self._declared: dict[str, Any] = {}
        for tool in declared or ():
            function = tool.get("function")
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                self._declared[function["name"]] = function.get("parameters")
        self._validators: dict[str, Any] = {}

    def problem(self, name: str, arguments: str) -> str | None:
        """Why the call may not be released (a stable reason type), or ``None``."""
        allowed = self._rules.allowed
        if allowed is not None and name not in allowed:
            return NOT_ALLOWED
        if not self._rules.schemas:
            return None
        if name not in self._declared:
            return UNDECLARED
        try:
            value = json.loads(arguments or "{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return BAD_ARGUMENTS
        schema = self._declared[name]
        if schema is None:
            return None
        try:
            validator = self._validator(name, schema)
            if not validator.is_valid(value):
                return BAD_ARGUMENTS
        except (schema_errors.SchemaError, schema_errors.UnknownType, TypeError, ValueError):
            return BAD_ARGUMENTS  # a schema that cannot be checked fails closed
        return None

    def _validator(self, name: str, schema: Any) -> Any:
        validator = self._validators.get(name)
        if validator is None:
            cls = validators.validator_for(schema)
            cls.check_schema(schema)
            validator = cls(schema)
            self._validators[name] = validator
        return validator


def tool_call_blocked(reason: str, name: str) -> UpstreamError:
    why = {
        NOT_ALLOWED: "calls a tool that is not on this route's allow-list (tools.allowed)",
        UNDECLARED: "calls a tool the request did not declare in 'tools'",
        BAD_ARGUMENTS: "has arguments that fail the JSON Schema declared for the tool",
    }[reason]
    return UpstreamError(
        f"the model's answer {why} (tool {name!r}), so it was withheld; declare the tool, "
        "add it to the route's tools.allowed, or adjust its schema",
        code="tool_call_blocked",
    )
