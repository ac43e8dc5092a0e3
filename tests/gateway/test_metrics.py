"""GET /metrics: counted at the audit step, model state read when scraped."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.conftest import Gateway, make_gateway
from zonegate.config.load import LoadedConfig
from zonegate.errors import UpstreamError


async def scrape(gw: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = await gw.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


async def test_requests_tokens_and_failures_are_counted(gateway: Gateway) -> None:
    await gateway.chat("hello")
    await gateway.chat("hello", model="no-such-route")
    gateway.fakes["vendor-model"].fail_with = UpstreamError("down", code="upstream_server_error")
    await gateway.chat("hello")  # falls back to the local model
    m = await scrape(gateway)
    ok = dict(endpoint="chat.completions", status="200", decision="allow")
    assert m[key("zonegate_requests_total", **ok, model="vendor-model")] == 1
    assert m[key("zonegate_requests_total", **ok, model="local-model")] == 1
    missing = dict(endpoint="chat.completions", status="404", decision="deny", model="")
    assert m[key("zonegate_requests_total", **missing)] == 1
    failed = key(
        "zonegate_upstream_failures_total", model="vendor-model", code="upstream_server_error"
    )
    assert m[failed] == 1
    assert m[key("zonegate_tokens_total", model="vendor-model", kind="prompt")] == 10
    assert m[key("zonegate_request_duration_seconds_count", endpoint="chat.completions")] == 3


async def test_model_state_is_read_at_scrape_time(gateway: Gateway) -> None:
    m = await scrape(gateway)
    assert m[key("zonegate_model_circuit_state", model="vendor-model")] == 0
    assert m[key("zonegate_model_up", model="vendor-model")] == 1
    assert m[key("zonegate_audit_writer_healthy")] == 1
    for _ in range(5):  # the default breaker opens after 5 consecutive failures
        gateway.services.guards["vendor-model"].failed()
    gateway.services.health.down.add("local-model")
    m = await scrape(gateway)
    assert m[key("zonegate_model_circuit_state", model="vendor-model")] == 2
    assert m[key("zonegate_model_up", model="local-model")] == 0


async def test_each_gateway_has_its_own_registry(tmp_path: Path, loaded: LoadedConfig) -> None:
    async with make_gateway(tmp_path / "a", loaded) as first:
        await first.chat("hello")
        async with make_gateway(tmp_path / "b", loaded) as second:
            m = await scrape(second)
            served = dict(endpoint="chat.completions", status="200", decision="allow")
            assert key("zonegate_requests_total", **served, model="vendor-model") not in m
