"""The audit record: what the gateway decided for one request and why (DESIGN.md section 5).

Records are frozen; the writer assigns the sequence number and chain hashes when it commits them.
Finding values never appear here: only types and counts. Content is kept as the data class's
retention rule says (none, a hash, a redacted copy, or in full).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditRecord:
    request_id: str
    started_at: datetime
    ended_at: datetime
    instance_id: str
    config_hash: str
    endpoint: str
    decision: str  # "allow" | "deny" | "error"
    status: int  # HTTP status returned to the client
    trace_id: str | None = None
    principal_id: str | None = None  # pseudonymous key id, never the key
    team: str | None = None
    purpose: str | None = None
    route: str | None = None
    requested_model: str | None = None
    model_id: str | None = None  # configured model that served the request
    served_model: str | None = None  # as the upstream reported it
    zone: str | None = None
    fallback_chain: tuple[str, ...] = ()
    declared_class: str | None = None
    effective_class: str | None = None
    findings: dict[str, int] = field(default_factory=dict)  # finding type -> count
    reason_code: str | None = None
    promotion_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    content_mode: str = "none"
    content: dict[str, Any] | None = None
    retain_until: datetime | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: Decimal | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    error_class: str | None = None
    error_message: str | None = None
    guard_verdicts: dict[str, Any] = field(default_factory=dict)
    stream: bool = False


@dataclass(frozen=True, slots=True)
class AdminEvent:
    """A change to keys, configuration, routes or gates, with before/after values."""

    event_id: str
    at: datetime
    actor: str
    action: str  # e.g. "key.create", "key.revoke"
    subject: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
