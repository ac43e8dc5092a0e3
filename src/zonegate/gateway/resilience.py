"""Per-model resilience: a circuit breaker, a concurrency limit and the retry schedule.

Each configured model gets one ``ModelGuard``, built with the services. The dispatcher asks it for
a slot before every call (``acquire``), reports how the call went (``succeeded`` / ``failed`` /
``abandoned``) and gives the slot back (``release``). The breaker counts consecutive upstream
failures; at ``breaker.failures`` it opens and the model is skipped (the policy sees it as
unhealthy) for ``breaker.open_seconds``; then one probe call is let through (half-open): success
closes the circuit, failure opens it again. A caller's bad request (an upstream 400) counts as
the upstream answering, not as a failure.

Retries stay on one model and are for failures where trying again can help and cannot double-bill
a finished answer: the connection never opened, 429 (honouring ``Retry-After``) and 502/503/504.
Waits use full jitter (a random delay up to the exponential step) so callers that failed
together do not retry together.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from zonegate.config.schema import ModelConfig, ResilienceConfig
from zonegate.errors import UpstreamError, UpstreamUnavailable


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed, open or half-open; ``clock`` is injectable so tests need not sleep."""

    __slots__ = ("_clock", "_failures", "_limit", "_open_for", "_opened_at", "_probing", "_state")

    def __init__(
        self, failures: int, open_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = failures
        self._open_for = open_seconds
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._due():
            return CircuitState.HALF_OPEN
        return self._state

    def blocking(self) -> bool:
        """Whether the router should skip the model now (open, and no probe is due)."""
        return self._state is CircuitState.OPEN and not self._due()

    def admit(self) -> bool:
        """May a call go out? In half-open state, only one probe at a time."""
        if self._state is CircuitState.CLOSED:
            return True
        if self._state is CircuitState.OPEN:
            if not self._due():
                return False
            self._state = CircuitState.HALF_OPEN
        if self._probing:
            return False
        self._probing = True
        return True

    def success(self) -> None:
        self._state, self._failures, self._probing = CircuitState.CLOSED, 0, False

    def failure(self) -> None:
        self._failures += 1
        if self._state is CircuitState.HALF_OPEN or self._failures >= self._limit:
            self._state, self._opened_at, self._probing = CircuitState.OPEN, self._clock(), False

    def abandon(self) -> None:
        """A call ended with no verdict (the caller left): let another probe through."""
        self._probing = False

    def _due(self) -> bool:
        return self._clock() - self._opened_at >= self._open_for


@dataclass(slots=True)
class ModelGuard:
    """One model's breaker, concurrency limit and retry settings."""

    model_id: str
    settings: ResilienceConfig
    breaker: CircuitBreaker
    rng: random.Random
    in_flight: int = 0

    def acquire(self) -> None:
        """Take a call slot, or raise ``UpstreamUnavailable`` (circuit open, or at capacity)."""
        limit = self.settings.max_concurrency
        if limit is not None and self.in_flight >= limit:
            raise UpstreamUnavailable(
                f"model {self.model_id!r} is at its concurrency limit of {limit} "
                "(resilience.max_concurrency); try again shortly",
                code="model_at_capacity",
                headers={"Retry-After": "1"},
            )
        if not self.breaker.admit():
            raise UpstreamUnavailable(
                f"model {self.model_id!r} is failing and its circuit is open; it is tried again "
                f"{self.settings.breaker.open_seconds:g} s after it opened",
                code="model_circuit_open",
            )
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1

    def succeeded(self) -> None:
        self.breaker.success()

    def failed(self) -> None:
        self.breaker.failure()

    def abandoned(self) -> None:
        self.breaker.abandon()

    def retry_delay(self, attempt: int, error: UpstreamError) -> float | None:
        """Seconds to wait before try ``attempt + 1`` on this model, or ``None`` to move on."""
        retry = self.settings.retry
        if not error.retryable or attempt >= retry.attempts:
            return None
        if error.retry_after is not None:
            if error.retry_after > retry.max_retry_after:
                return None  # better served by the next candidate than by waiting
            return error.retry_after
        step = min(retry.max_backoff, retry.initial_backoff * 2 ** (attempt - 1))
        return self.rng.uniform(0, step)


class ModelGuards(Mapping[str, ModelGuard]):
    """Every model's guard, by model id; ``unhealthy`` feeds the policy's skip list."""

    def __init__(
        self,
        models: Mapping[str, ModelConfig],
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        shared = rng or random.Random()  # noqa: S311 - jitter, not security
        self._guards = {
            model_id: ModelGuard(
                model_id,
                model.resilience,
                CircuitBreaker(
                    model.resilience.breaker.failures, model.resilience.breaker.open_seconds, clock
                ),
                shared,
            )
            for model_id, model in models.items()
        }

    def __getitem__(self, model_id: str) -> ModelGuard:
        return self._guards[model_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._guards)

    def __len__(self) -> int:
        return len(self._guards)

    def blocking(self) -> frozenset[str]:
        """Models whose circuit is open with no probe due: the router skips them."""
        return frozenset(m for m, g in self._guards.items() if g.breaker.blocking())

    def states(self) -> dict[str, str]:
        return {m: g.breaker.state.value for m, g in self._guards.items()}
