"""Model health: what the router skips, from circuit breakers and active health checks.

A circuit breaker learns from live traffic; an active check also notices a self-hosted server
that went away while no one was calling it, and notices it came back without risking a caller's
request. Each checked model is probed every ``interval_seconds``; ``unhealthy_after``
consecutive failures mark it down (the policy then skips it like an open circuit), and
``healthy_after`` consecutive passes bring it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from zonegate.config.schema import Config, HealthCheckConfig
from zonegate.errors import ZonegateError
from zonegate.gateway.resilience import ModelGuards
from zonegate.providers.base import HealthCheckable, Provider

log = logging.getLogger("zonegate.health")


@dataclass(slots=True)
class CheckState:
    """The last outcome of one model's active checks."""

    checked_at: float | None = None  # Unix time
    error: str | None = None
    failures: int = 0
    passes: int = 0


@dataclass
class ModelHealth:
    """Models the router should skip: those whose circuit is open, and those an active health
    check marked ``down``."""

    guards: ModelGuards
    down: set[str] = field(default_factory=set)
    checks: dict[str, CheckState] = field(default_factory=dict)

    def unhealthy(self) -> frozenset[str]:
        blocking = self.guards.blocking()
        return blocking | self.down if self.down else blocking

    def record(self, model_id: str, settings: HealthCheckConfig, error: str | None) -> None:
        state = self.checks.setdefault(model_id, CheckState())
        state.checked_at, state.error = time.time(), error
        if error is None:
            state.failures, state.passes = 0, state.passes + 1
            if model_id in self.down and state.passes >= settings.healthy_after:
                self.down.discard(model_id)
                log.warning("model %s passes its health check again", model_id)
        else:
            state.failures, state.passes = state.failures + 1, 0
            if model_id not in self.down and state.failures >= settings.unhealthy_after:
                self.down.add(model_id)
                log.warning("model %s marked down by its health check: %s", model_id, error)


def checked_models(config: Config, providers: Mapping[str, Provider]) -> dict[str, HealthCheckable]:
    """The models to probe: those that say so, else HTTP upstreams in self-operated zones."""
    out: dict[str, HealthCheckable] = {}
    for model_id, model in config.models.items():
        provider = providers.get(model_id)
        if not isinstance(provider, HealthCheckable):
            continue
        enabled = model.health_check.enabled
        if enabled is None:
            enabled = config.zones[model.zone].operator == "self"
        if enabled:
            out[model_id] = provider
    return out


class HealthMonitor:
    """One probing task per checked model, run while the gateway runs."""

    def __init__(
        self, config: Config, providers: Mapping[str, Provider], health: ModelHealth
    ) -> None:
        self._config = config
        self._targets = checked_models(config, providers)
        self._health = health
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(self._targets)

    def start(self) -> None:
        for model_id, provider in self._targets.items():
            settings = self._config.models[model_id].health_check
            task = asyncio.create_task(
                self._probe_forever(model_id, provider, settings), name=f"health:{model_id}"
            )
            self._tasks.append(task)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def probe(self, model_id: str) -> None:
        """One check of one model, recorded."""
        settings = self._config.models[model_id].health_check
        error: str | None = None
        try:
            async with asyncio.timeout(settings.timeout_seconds):
                await self._targets[model_id].check_health()
        except TimeoutError:
            error = f"no answer within {settings.timeout_seconds:g} s"
        except ZonegateError as exc:
            error = exc.code
        except Exception as exc:  # any failure of a probe is a failed check, never a crash
            error = type(exc).__name__
        self._health.record(model_id, settings, error)

    async def _probe_forever(
        self, model_id: str, provider: HealthCheckable, settings: HealthCheckConfig
    ) -> None:
        while True:
            await self.probe(model_id)
            await asyncio.sleep(settings.interval_seconds)
