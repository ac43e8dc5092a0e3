"""Retries, circuit breakers, first-token deadlines and concurrency limits, in the real pipeline.

Upstreams are recording fakes here; tests/integration/test_faults.py drives the same paths
against a real misbehaving server process.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from tests.gateway.conftest import Gateway, make_gateway
from zonegate.config.load import load_config_text
from zonegate.config.schema import ResilienceConfig
from zonegate.errors import UpstreamError, UpstreamUnavailable
from zonegate.gateway.resilience import CircuitBreaker, CircuitState, ModelGuard

CARD = "4111 1111 1111 1111"

CONFIG = """
zones:
  local: {operator: self, ceiling: restricted}
  vendor: {operator: acme, ceiling: internal}
models:
  local-model:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: local-upstream}
    resilience: {retry: {attempts: 2, initial_backoff: 0.001}}
  vendor-model:
    zone: vendor
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: vendor-upstream}
    resilience:
      retry: {attempts: 3, initial_backoff: 0.001, max_backoff: 0.002}
      breaker: {failures: 4, open_seconds: 60}
      first_token_timeout: 0.2
      max_concurrency: 1
routes:
  assistant: {candidates: [vendor-model, local-model]}
  local-first: {candidates: [local-model, vendor-model]}
teams:
  default: {routes: ["*"], models: ["*"]}
"""

UNAVAILABLE = UpstreamError("HTTP 503", code="upstream_unavailable", retryable=True)
SERVER_ERROR = UpstreamError("HTTP 500", code="upstream_server_error")


@pytest.fixture
async def gw(tmp_path: Path) -> Gateway:  # type: ignore[misc]
    async with make_gateway(tmp_path, load_config_text(CONFIG, source="t.yaml")) as gateway:
        yield gateway


def tries(gateway: Gateway) -> list[dict[str, object]]:
    [record] = gateway.audit()[-1:]
    return list(record["guard_verdicts"].get("upstream", []))


# -- the breaker and the schedule, alone -------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_probes_once_when_due() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, open_seconds=10, clock=clock)
    breaker.failure()
    breaker.failure()
    breaker.success()  # a success resets the count
    breaker.failure()
    breaker.failure()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.admit()
    breaker.failure()
    assert breaker.state is CircuitState.OPEN
    assert breaker.blocking()
    assert not breaker.admit()
    clock.now += 10
    assert breaker.state is CircuitState.HALF_OPEN
    assert not breaker.blocking()
    assert breaker.admit()  # the probe
    assert not breaker.admit()  # only one at a time
    breaker.failure()  # the probe failed: open again, for a full period
    assert breaker.state is CircuitState.OPEN
    assert breaker.blocking()
    clock.now += 10
    assert breaker.admit()
    breaker.abandon()  # the probe's caller left: another may probe
    assert breaker.admit()
    breaker.success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.admit()
    assert breaker.admit()


def guard(**settings: object) -> ModelGuard:
    config = ResilienceConfig.model_validate(settings)
    return ModelGuard("m", config, CircuitBreaker(5, 30), random.Random(7))


def test_retry_delays_grow_with_jitter_and_stop_after_the_last_attempt() -> None:
    g = guard(retry={"attempts": 4, "initial_backoff": 0.1, "max_backoff": 0.3})
    delays = [g.retry_delay(n, UNAVAILABLE) for n in (1, 2, 3)]
    assert [d is not None for d in delays] == [True, True, True]
    assert all(0 <= d <= cap for d, cap in zip(delays, (0.1, 0.2, 0.3), strict=True))  # type: ignore[operator]
    assert g.retry_delay(4, UNAVAILABLE) is None
    assert len({g.retry_delay(1, UNAVAILABLE) for _ in range(5)}) > 1  # jittered


def test_only_retryable_failures_are_retried_and_retry_after_is_honoured() -> None:
    g = guard(retry={"max_retry_after": 5})
    assert g.retry_delay(1, SERVER_ERROR) is None
    limited = UpstreamError("429", code="upstream_rate_limited", retryable=True, retry_after=2.5)
    assert g.retry_delay(1, limited) == 2.5
    too_long = UpstreamError("429", code="upstream_rate_limited", retryable=True, retry_after=9)
    assert g.retry_delay(1, too_long) is None  # the next candidate beats waiting


def test_a_full_model_refuses_a_call_until_a_slot_is_released() -> None:
    g = guard(max_concurrency=1)
    g.acquire()
    with pytest.raises(UpstreamUnavailable) as caught:
        g.acquire()
    assert caught.value.code == "model_at_capacity"
    g.release()
    g.acquire()


# -- through the gateway -------------------------------------------------------------------------


async def test_a_retryable_failure_is_retried_on_the_same_model(gw: Gateway) -> None:
    vendor = gw.fakes["vendor-model"]
    vendor.fail_with, vendor.fail_times = UNAVAILABLE, 2
    r = await gw.chat("hello")
    assert r.status_code == 200
    assert r.headers["x-zonegate-model"] == "vendor-model"
    assert len(vendor.calls) == 3
    assert gw.fakes["local-model"].calls == []
    assert tries(gw) == [
        {"model": "vendor-model", "attempt": 1, "error": "upstream_unavailable"},
        {"model": "vendor-model", "attempt": 2, "error": "upstream_unavailable"},
    ]


async def test_a_non_retryable_failure_moves_to_the_next_candidate_at_once(gw: Gateway) -> None:
    vendor = gw.fakes["vendor-model"]
    vendor.fail_with = SERVER_ERROR
    r = await gw.chat("hello", stream=True)
    assert r.status_code == 200
    assert r.headers["x-zonegate-model"] == "local-model"
    assert len(vendor.calls) == 1
    [record] = gw.audit()
    assert record["fallback_chain"] == ["vendor-model", "local-model"]
    assert tries(gw) == [{"model": "vendor-model", "attempt": 1, "error": "upstream_server_error"}]


async def test_fallback_never_reaches_a_zone_the_data_may_not_enter(gw: Gateway) -> None:
    local = gw.fakes["local-model"]
    local.fail_with = UNAVAILABLE
    r = await gw.chat(f"my card is {CARD}", model="local-first")
    assert r.status_code == 502
    assert len(local.calls) == 2  # retried where the data may go...
    assert gw.fakes["vendor-model"].calls == []  # ...and never sent where it may not
    [record] = gw.audit()
    assert record["fallback_chain"] == ["local-model"]
    assert record["error_class"] == "upstream_unavailable"


async def test_an_open_circuit_skips_the_model_until_a_probe_is_due(gw: Gateway) -> None:
    vendor = gw.fakes["vendor-model"]
    vendor.fail_with = SERVER_ERROR
    for _ in range(4):
        assert (await gw.chat("hello")).headers["x-zonegate-model"] == "local-model"
    assert len(vendor.calls) == 4
    ready = (await gw.client.get("/readyz")).json()
    assert ready["models"]["vendor-model"] == {"status": "degraded", "circuit": "open"}
    assert ready["models"]["local-model"] == {"status": "ok", "circuit": "closed"}

    r = await gw.chat("hello")
    assert r.headers["x-zonegate-model"] == "local-model"
    assert len(vendor.calls) == 4  # skipped, not called
    [*_, record] = gw.audit()
    assert record["fallback_chain"] == ["local-model"]
    assert record["guard_verdicts"]["policy"]["vendor-model"] == "unhealthy"

    r = await gw.chat(f"card {CARD}", model="assistant")  # only local was ever permitted
    assert r.headers["x-zonegate-model"] == "local-model"


async def test_every_candidate_failing_is_one_clear_error_and_one_record(gw: Gateway) -> None:
    gw.fakes["vendor-model"].fail_with = SERVER_ERROR
    gw.fakes["local-model"].fail_with = UNAVAILABLE
    r = await gw.chat("hello")
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "upstream_unavailable"
    [record] = gw.audit()
    assert record["status"] == 502
    assert [t["model"] for t in tries(gw)] == ["vendor-model", "local-model", "local-model"]


async def test_a_stream_without_output_in_time_moves_to_the_next_candidate(gw: Gateway) -> None:
    gw.fakes["vendor-model"].first_delay = 5.0
    r = await gw.chat("hello", stream=True)
    assert r.status_code == 200
    assert r.headers["x-zonegate-model"] == "local-model"
    assert "fake" in r.text
    assert r.text.rstrip().endswith("data: [DONE]")
    assert tries(gw) == [
        {"model": "vendor-model", "attempt": 1, "error": "upstream_first_token_timeout"}
    ]
    assert gw.services.guards["vendor-model"].in_flight == 0


async def test_a_model_at_its_concurrency_limit_passes_to_the_next(gw: Gateway) -> None:
    vendor = gw.fakes["vendor-model"]
    vendor.first_delay = 0.15  # under the first-token timeout: the first stream holds its slot

    async def slow() -> str:
        r = await gw.chat("first", stream=True)
        return r.headers["x-zonegate-model"]

    first = asyncio.create_task(slow())
    for _ in range(400):  # until the first stream holds the vendor's only slot
        if gw.services.guards["vendor-model"].in_flight:
            break
        await asyncio.sleep(0.005)
    second = await gw.chat("second")
    assert second.headers["x-zonegate-model"] == "local-model"
    assert await first == "vendor-model"
    assert gw.services.guards["vendor-model"].in_flight == 0
    record = next(r for r in gw.audit() if r["model_id"] == "local-model")
    assert record["guard_verdicts"]["upstream"] == [
        {"model": "vendor-model", "attempt": 1, "error": "model_at_capacity"}
    ]
