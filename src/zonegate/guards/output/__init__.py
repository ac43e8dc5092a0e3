"""Output guards: what the model sends back is checked before the caller sees it.

Secrets and data above the caller's clearance are redacted or blocked per route (``output``), in
whole answers and in streams (a bounded hold-back window catches values split across chunks), and
tool calls are checked against the route's allow-list and the caller's declared JSON Schemas
(``tools``). Verdicts are counts by type, never values.
"""

from zonegate.guards.output.guard import OutputGuard
from zonegate.guards.output.rules import (
    ALLOW,
    BLOCK,
    REDACT,
    SECRET_TYPES,
    OutputRules,
    secret_types,
)
from zonegate.guards.output.stream import ChunkGuard
from zonegate.guards.output.tools import ToolRules
from zonegate.guards.output.window import CONTEXT, HOLD, MAX_HOLD, TextWindow

__all__ = [
    "ALLOW",
    "BLOCK",
    "CONTEXT",
    "HOLD",
    "MAX_HOLD",
    "REDACT",
    "SECRET_TYPES",
    "ChunkGuard",
    "OutputGuard",
    "OutputRules",
    "TextWindow",
    "ToolRules",
    "secret_types",
]
