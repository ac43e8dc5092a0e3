"""Promotions reach a running gateway: route state is re-read from the database every few seconds.

``zonegate promote`` and ``zonegate rollback`` write to the database; each gateway process (any
number of replicas) picks the change up within ``ROUTE_STATE_TTL_SECONDS`` of it, without a
restart. The first request after the TTL reads the state in a worker thread (never on the event
loop); requests arriving meanwhile keep the state they had. A failed read keeps the last state
and is retried after the TTL: a promotion only reorders the candidates the policy permits, so a
stale order can delay a change but never send data anywhere the policy forbids.

What the policy sees is a ``PolicyViews`` with promoted models moved first (``with_preferred``);
``decide`` stays a pure function of its inputs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import anyio
import anyio.to_thread

from zonegate.policy.views import PolicyViews, with_preferred
from zonegate.store.route_repo import ActiveRoute

ROUTE_STATE_TTL_SECONDS = 2.0  # how stale a gateway's view of promotions may be

log = logging.getLogger("zonegate.gateway")


class RouteReader(Protocol):
    """Where route state is read from (``RouteRepository`` in a gateway)."""

    def active(self) -> Mapping[str, ActiveRoute]: ...


@dataclass(frozen=True, slots=True)
class RouteSnapshot:
    """The views ``decide`` uses and, per promoted route, the promotion in effect."""

    views: PolicyViews
    promotions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def promotion_for(self, route: str | None) -> str | None:
        return None if route is None else self.promotions.get(route)


class RouteState:
    """The current route order for one gateway process, refreshed at most every ``ttl`` s."""

    def __init__(
        self,
        repo: RouteReader,
        base: PolicyViews,
        *,
        ttl: float = ROUTE_STATE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repo = repo
        self._base = base
        self._ttl = ttl
        self._clock = clock
        self._snapshot = RouteSnapshot(base)
        self._active: Mapping[str, ActiveRoute] = {}
        self._due = float("-inf")  # the first request reads the state
        self._loaded = False
        self._first: anyio.Event | None = None  # set while the first read is in flight

    @property
    def current(self) -> RouteSnapshot:
        return self._snapshot

    async def refresh(self) -> None:
        """Re-read route state when the last read is older than the TTL; never raises.

        Until the first read has finished, every request waits for it, so none is decided on the
        config's order while a promotion is in force.
        """
        first = self._first
        if first is not None:
            await first.wait()
            return
        now = self._clock()
        if now < self._due:
            return
        self._due = now + self._ttl  # set first: concurrent requests do not read again
        if not self._loaded:
            first = self._first = anyio.Event()
        try:
            active = await anyio.to_thread.run_sync(self._repo.active)
        except Exception as exc:
            log.warning(
                "could not read route state (%s: %s); keeping the last one and retrying in %g s",
                type(exc).__name__,
                exc,
                self._ttl,
            )
        else:
            self._loaded = True
            if active != self._active:
                self._active = active
                self._snapshot = snapshot(self._base, active)
        finally:
            if first is not None:
                self._first = None
                first.set()


def snapshot(base: PolicyViews, active: Mapping[str, ActiveRoute]) -> RouteSnapshot:
    """Views with promoted models first. A promotion of a model the route no longer lists (the
    config changed since) is ignored and is not named in audit records."""
    applied = {
        name: state
        for name, state in active.items()
        if name in base.routes and state.model in base.routes[name].candidates
    }
    views = with_preferred(base, {name: s.model for name, s in applied.items()})
    promotions = {name: s.promotion_id for name, s in applied.items()}
    return RouteSnapshot(views, MappingProxyType(promotions))
