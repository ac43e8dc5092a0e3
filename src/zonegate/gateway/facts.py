"""What the pipeline learns about one request, accumulated as it goes and then audited."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from zonegate.audit.record import AuditRecord
from zonegate.errors import ZonegateError
from zonegate.ids import new_id


@dataclass(slots=True)
class RequestFacts:
    """Mutable, owned by one request; frozen into an ``AuditRecord`` when the request ends."""

    endpoint: str
    request_id: str = field(default_factory=new_id)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    t0: float = field(default_factory=time.perf_counter)
    trace_id: str | None = None
    stream: bool = False
    principal_id: str | None = None
    team: str | None = None
    purpose: str | None = None
    route: str | None = None
    requested_model: str | None = None
    model_id: str | None = None
    served_model: str | None = None
    zone: str | None = None
    fallback_chain: list[str] = field(default_factory=list)
    declared_class: str | None = None
    effective_class: str | None = None
    findings: dict[str, int] = field(default_factory=dict)
    decision: str = "error"
    reason_code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    content_mode: str = "none"
    content: dict[str, Any] | None = None
    retain_days: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: Decimal | None = None
    ttft_ms: float | None = None
    status: int = 200
    error_class: str | None = None
    error_message: str | None = None
    guard_verdicts: dict[str, Any] = field(default_factory=dict)
    injection_label: str | None = None
    promotion_id: str | None = None  # the promotion that ordered the route's candidates

    def fail(self, exc: ZonegateError) -> None:
        self.status = exc.status
        self.error_class = exc.code
        self.error_message = exc.message
        if self.decision == "allow" and exc.status < 500:
            self.decision = "error"

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000.0

    def to_record(self, *, instance_id: str, config_hash: str) -> AuditRecord:
        ended = self.started_at + timedelta(milliseconds=self.elapsed_ms())
        retain_until = (
            self.started_at + timedelta(days=self.retain_days) if self.retain_days else None
        )
        return AuditRecord(
            request_id=self.request_id,
            started_at=self.started_at,
            ended_at=ended,
            instance_id=instance_id,
            config_hash=config_hash,
            endpoint=self.endpoint,
            decision=self.decision,
            status=self.status,
            trace_id=self.trace_id,
            principal_id=self.principal_id,
            team=self.team,
            purpose=self.purpose,
            route=self.route,
            requested_model=self.requested_model,
            model_id=self.model_id,
            served_model=self.served_model,
            zone=self.zone,
            fallback_chain=tuple(self.fallback_chain),
            declared_class=self.declared_class,
            effective_class=self.effective_class,
            findings=self.findings,
            reason_code=self.reason_code,
            params=self.params,
            content_mode=self.content_mode,
            content=self.content,
            retain_until=retain_until,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost=self.cost,
            latency_ms=round(self.elapsed_ms(), 3),
            ttft_ms=self.ttft_ms,
            error_class=self.error_class,
            error_message=self.error_message,
            guard_verdicts=self.guard_verdicts,
            stream=self.stream,
            promotion_id=self.promotion_id,
        )
