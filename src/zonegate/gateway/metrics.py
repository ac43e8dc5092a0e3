"""Prometheus metrics, served at ``GET /metrics``.

Counted where every request ends (the audit step), so a metric can never disagree with the
audit log about what happened; model state (circuit breakers, health checks, the audit writer) is
read when scraped. Each gateway builds its own registry: nothing is process-global.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from zonegate.gateway.facts import RequestFacts
from zonegate.gateway.health import ModelHealth
from zonegate.gateway.resilience import ModelGuards

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_CIRCUIT_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class GatewayMetrics:
    """Request, upstream and token counters, and scrape-time model state."""

    def __init__(
        self, guards: ModelGuards, health: ModelHealth, writer_healthy: Callable[[], bool]
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "zonegate_requests",
            "Requests by endpoint, HTTP status, decision and the model that served them.",
            ("endpoint", "status", "decision", "model"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "zonegate_request_duration_seconds",
            "Time from the request's arrival to its audit record, by endpoint.",
            ("endpoint",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._upstream_failures = Counter(
            "zonegate_upstream_failures",
            "Failed tries against a model (retries and fallbacks included), by error code.",
            ("model", "code"),
            registry=self.registry,
        )
        self._tokens = Counter(
            "zonegate_tokens",
            "Tokens metered, by model and kind (prompt or completion).",
            ("model", "kind"),
            registry=self.registry,
        )
        self.registry.register(_StateCollector(guards, health, writer_healthy))

    def observe(self, facts: RequestFacts) -> None:
        model = facts.model_id or ""
        self._requests.labels(facts.endpoint, str(facts.status), facts.decision, model).inc()
        self._latency.labels(facts.endpoint).observe(facts.elapsed_ms() / 1000.0)
        for attempt in facts.guard_verdicts.get("upstream", ()):
            self._upstream_failures.labels(attempt["model"], attempt["error"]).inc()
        if facts.prompt_tokens:
            self._tokens.labels(model, "prompt").inc(facts.prompt_tokens)
        if facts.completion_tokens:
            self._tokens.labels(model, "completion").inc(facts.completion_tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(
        self, guards: ModelGuards, health: ModelHealth, writer_healthy: Callable[[], bool]
    ) -> None:
        self._guards = guards
        self._health = health
        self._writer_healthy = writer_healthy

    def collect(self) -> Iterator[Metric]:
        circuit = GaugeMetricFamily(
            "zonegate_model_circuit_state",
            "Circuit breaker per model: 0 closed, 1 half-open, 2 open.",
            labels=("model",),
        )
        up = GaugeMetricFamily(
            "zonegate_model_up",
            "1 unless an active health check marked the model down.",
            labels=("model",),
        )
        for model_id, state in self._guards.states().items():
            circuit.add_metric((model_id,), _CIRCUIT_VALUES[state])
            up.add_metric((model_id,), 0.0 if model_id in self._health.down else 1.0)
        in_flight = GaugeMetricFamily(
            "zonegate_model_in_flight", "Calls in flight per model.", labels=("model",)
        )
        for model_id in self._guards:
            in_flight.add_metric((model_id,), float(self._guards[model_id].in_flight))
        writer = GaugeMetricFamily(
            "zonegate_audit_writer_healthy", "1 while the audit store accepts records."
        )
        writer.add_metric((), 1.0 if self._writer_healthy() else 0.0)
        yield from (circuit, up, in_flight, writer)
