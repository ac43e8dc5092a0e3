"""A promotion written to the database reaches a running gateway after the route-state TTL, with
no restart; audit records name the promotion in force; a rollback returns the route; and a
promotion never lets data reach a model the policy forbids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import Gateway, make_gateway
from zonegate.config.load import LoadedConfig
from zonegate.errors import UpstreamError
from zonegate.gateway.route_state import ROUTE_STATE_TTL_SECONDS, RouteState
from zonegate.gateway.services import GatewayServices
from zonegate.store.route_repo import ActiveRoute, Evidence, RouteRepository

CARD = "4111 1111 1111 1111"  # a payment card: restricted, above the vendor zone's ceiling


class Clock:
    """Monotonic time the test moves by hand, so the TTL is crossed without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = ROUTE_STATE_TTL_SECONDS) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gw(tmp_path: Path, loaded: LoadedConfig, clock: Clock) -> AsyncIterator[Gateway]:
    def with_clock(services: GatewayServices) -> None:
        services.route_state = RouteState(RouteRepository(services.db), services.views, clock=clock)

    async with make_gateway(tmp_path, loaded, tweak=with_clock) as gateway:
        yield gateway


def last_record(gw: Gateway) -> dict[str, Any]:
    return gw.audit()[-1]


async def served_by(gw: Gateway, route: str = "assistant", content: str = "hello") -> str:
    response = await gw.chat(content, model=route)
    assert response.status_code == 200, response.text
    return response.headers["x-zonegate-model"]


async def test_promote_then_rollback_without_restarting(gw: Gateway, clock: Clock) -> None:
    repo = RouteRepository(gw.services.db)
    assert await served_by(gw) == "vendor-model"
    assert last_record(gw)["promotion_id"] is None

    promotion = repo.promote(
        "assistant", "local-model", actor="ops", evidence=Evidence("run-c", "run-i")
    )
    # Within the TTL the gateway keeps the state it read...
    assert await served_by(gw) == "vendor-model"
    # ...and once it has passed, the next request is served by the promoted model.
    clock.advance()
    assert await served_by(gw) == "local-model"
    record = last_record(gw)
    assert record["promotion_id"] == promotion.change_id
    assert record["model_id"] == "local-model"
    assert record["fallback_chain"] == ["local-model"]
    assert len(gw.fakes["local-model"].calls) == 1

    repo.rollback("assistant", actor="ops", reason="quality complaints")
    clock.advance()
    assert await served_by(gw) == "vendor-model"
    assert last_record(gw)["promotion_id"] is None


async def test_the_promoted_model_is_first_and_the_others_stay_fallbacks(
    gw: Gateway, clock: Clock
) -> None:
    RouteRepository(gw.services.db).promote("assistant", "local-model", actor="ops")
    clock.advance()
    gw.fakes["local-model"].fail_with = UpstreamError("down", code="upstream_error")
    assert await served_by(gw) == "vendor-model"
    record = last_record(gw)
    assert record["fallback_chain"] == ["local-model", "vendor-model"]


async def test_a_promotion_never_sends_data_where_the_policy_forbids(
    gw: Gateway, clock: Clock
) -> None:
    promotion = RouteRepository(gw.services.db).promote("local-first", "vendor-model", actor="ops")
    clock.advance()
    assert await served_by(gw, "local-first") == "vendor-model"
    # Restricted data: the vendor zone's ceiling is below it, promoted or not.
    assert await served_by(gw, "local-first", f"card {CARD}") == "local-model"
    assert gw.fakes["vendor-model"].calls[-1].messages[-1].text() == "hello"
    record = last_record(gw)
    assert record["promotion_id"] == promotion.change_id  # the order in force on the route
    assert record["effective_class"] == "restricted"


async def test_a_promotion_of_a_model_the_route_no_longer_lists_is_ignored(
    gw: Gateway, clock: Clock
) -> None:
    # Written when the config listed it; this config's vendor-only route does not.
    RouteRepository(gw.services.db).promote("vendor-only", "local-model", actor="ops")
    clock.advance()
    assert await served_by(gw, "vendor-only") == "vendor-model"
    assert last_record(gw)["promotion_id"] is None
    assert gw.fakes["local-model"].calls == []


class Flaky:
    """The route store, until told to fail like an unreachable database."""

    def __init__(self, repo: RouteRepository) -> None:
        self.repo = repo
        self.broken = False

    def active(self) -> dict[str, ActiveRoute]:
        if self.broken:
            raise RuntimeError("database unreachable")
        return self.repo.active()


async def test_an_unreadable_route_state_keeps_the_last_one(
    tmp_path: Path, loaded: LoadedConfig, clock: Clock
) -> None:
    store: list[Flaky] = []

    def flaky(services: GatewayServices) -> None:
        store.append(Flaky(RouteRepository(services.db)))
        services.route_state = RouteState(store[0], services.views, clock=clock)

    async with make_gateway(tmp_path, loaded, tweak=flaky) as gw:
        promotion = store[0].repo.promote("assistant", "local-model", actor="ops")
        assert await served_by(gw) == "local-model"  # the first request reads the state
        store[0].broken = True
        clock.advance()
        assert await served_by(gw) == "local-model"
        assert last_record(gw)["promotion_id"] == promotion.change_id
        store[0].broken = False
        store[0].repo.rollback("assistant", actor="ops")
        clock.advance()
        assert await served_by(gw) == "vendor-model"
