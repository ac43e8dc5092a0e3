"""``RouteState``: how often route state is read, what concurrent requests see, and which
promotions apply."""

from __future__ import annotations

import asyncio

from tests.policy.factories import config
from zonegate.gateway.route_state import RouteState, snapshot
from zonegate.policy.views import build_views
from zonegate.store.route_repo import ActiveRoute

VIEWS = build_views(config())  # route 'assistant': us-m, eu-m, local-m


class Reader:
    """Route state held in memory; counts reads, and can hold them until released."""

    def __init__(self) -> None:
        self.state: dict[str, ActiveRoute] = {}
        self.reads = 0
        self.started: asyncio.Event | None = None
        self.release: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def hold(self) -> None:
        """Make reads wait for ``release`` (call on the event loop)."""
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def active(self) -> dict[str, ActiveRoute]:  # runs in a worker thread
        self.reads += 1
        if self.release is not None and self.started is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.started.set)
            asyncio.run_coroutine_threadsafe(self.release.wait(), self.loop).result(30)
        return dict(self.state)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_state_is_read_once_per_ttl() -> None:
    reader, clock = Reader(), Clock()
    state = RouteState(reader, VIEWS, ttl=2.0, clock=clock)
    assert state.current.views is VIEWS  # nothing read yet: the config's order
    await state.refresh()
    reader.state["assistant"] = ActiveRoute("assistant", "local-m", "p-1")
    clock.now = 1.9
    await state.refresh()
    assert reader.reads == 1
    assert state.current.promotion_for("assistant") is None
    clock.now = 2.0
    await state.refresh()
    assert reader.reads == 2
    assert state.current.views.routes["assistant"].candidates == ("local-m", "us-m", "eu-m")
    assert state.current.promotion_for("assistant") == "p-1"
    unchanged = state.current
    clock.now = 4.0
    await state.refresh()
    assert state.current is unchanged  # the same state is not rebuilt


async def test_requests_arriving_during_the_first_read_wait_for_it() -> None:
    reader, clock = Reader(), Clock()
    reader.state["assistant"] = ActiveRoute("assistant", "eu-m", "p-1")
    reader.hold()
    assert reader.started is not None
    assert reader.release is not None
    state = RouteState(reader, VIEWS, clock=clock)
    first = asyncio.create_task(state.refresh())
    await reader.started.wait()
    second = asyncio.create_task(state.refresh())
    for _ in range(10):
        await asyncio.sleep(0)
    assert not second.done()  # held until the first read has finished
    reader.release.set()
    await asyncio.gather(first, second)
    assert reader.reads == 1
    assert state.current.promotion_for("assistant") == "p-1"


def test_promotions_of_unknown_routes_or_non_candidates_are_not_applied() -> None:
    shot = snapshot(
        VIEWS,
        {
            "assistant": ActiveRoute("assistant", "eu-m", "p-1"),
            "us-only": ActiveRoute("us-only", "local-m", "p-2"),
            "gone": ActiveRoute("gone", "us-m", "p-3"),
        },
    )
    assert dict(shot.promotions) == {"assistant": "p-1"}
    assert shot.views.routes["us-only"].candidates == ("us-m",)
    assert shot.promotion_for(None) is None
