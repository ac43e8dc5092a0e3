"""Active health checks: which models are probed, and how results move them in and out."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import FakeProvider, make_gateway
from zonegate.config.load import load_config_text
from zonegate.config.schema import HealthCheckConfig
from zonegate.errors import UpstreamError
from zonegate.gateway.health import HealthMonitor, ModelHealth, checked_models
from zonegate.gateway.resilience import ModelGuards
from zonegate.gateway.services import GatewayServices

CONFIG = """
zones:
  local: {operator: self, ceiling: restricted}
  vendor: {operator: acme, ceiling: internal}
models:
  vllm:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: m}
    health_check: {interval_seconds: 0.01, unhealthy_after: 2, healthy_after: 2}
  vendor-model:
    zone: vendor
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: m}
  vendor-checked:
    zone: vendor
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: m}
    health_check: {enabled: true}
  vllm-unchecked:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: m}
    health_check: {enabled: false}
routes:
  assistant: {candidates: [vllm, vendor-model]}
teams:
  default: {routes: ["*"], models: ["*"]}
"""


class Probed(FakeProvider):
    """A fake upstream that can also be probed; ``up`` decides the probe's outcome."""

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        self.up = True
        self.probes = 0

    async def check_health(self) -> None:
        self.probes += 1
        if not self.up:
            raise UpstreamError("refused", code="upstream_unreachable")


def test_self_hosted_http_models_are_checked_unless_told_otherwise() -> None:
    config = load_config_text(CONFIG, source="t.yaml").config
    providers: dict[str, Any] = {m: Probed(m) for m in config.models}
    providers["in-process"] = FakeProvider("in-process")  # no probe: never checked
    assert set(checked_models(config, providers)) == {"vllm", "vendor-checked"}


def test_consecutive_results_move_a_model_down_and_up() -> None:
    config = load_config_text(CONFIG, source="t.yaml").config
    health = ModelHealth(ModelGuards(config.models))
    settings = HealthCheckConfig(unhealthy_after=2, healthy_after=2)
    health.record("vllm", settings, "upstream_unreachable")
    assert health.unhealthy() == frozenset()
    health.record("vllm", settings, "upstream_unreachable")
    assert health.unhealthy() == {"vllm"}
    health.record("vllm", settings, None)
    assert health.unhealthy() == {"vllm"}  # one pass is not enough
    health.record("vllm", settings, None)
    assert health.unhealthy() == frozenset()
    assert health.checks["vllm"].error is None
    assert health.checks["vllm"].checked_at is not None


async def wait_for(condition: Any) -> None:
    for _ in range(500):  # up to 5 s
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


async def test_a_model_failing_its_checks_is_skipped_until_it_recovers(tmp_path: Path) -> None:
    loaded = load_config_text(CONFIG, source="t.yaml")
    vllm = Probed("vllm")

    def probe_vllm(services: GatewayServices) -> None:
        services.providers = {**services.providers, "vllm": vllm}  # type: ignore[dict-item]
        services.monitor = HealthMonitor(loaded.config, {"vllm": vllm}, services.health)  # type: ignore[dict-item]

    async with make_gateway(tmp_path, loaded, tweak=probe_vllm) as gw:
        r = await gw.chat("hello")
        assert r.headers["x-zonegate-model"] == "vllm"

        vllm.up = False
        await wait_for(lambda: "vllm" in gw.services.health.down)
        ready = (await gw.client.get("/readyz")).json()["models"]["vllm"]
        assert ready["status"] == "down"
        assert ready["health_check"]["error"] == "upstream_unreachable"
        calls = len(vllm.calls)
        r = await gw.chat("hello")
        assert r.headers["x-zonegate-model"] == "vendor-model"
        assert len(vllm.calls) == calls  # skipped without being called

        vllm.up = True
        await wait_for(lambda: "vllm" not in gw.services.health.down)
        r = await gw.chat("hello")
        assert r.headers["x-zonegate-model"] == "vllm"
    probes = vllm.probes
    await asyncio.sleep(0.05)
    assert vllm.probes == probes  # the monitor stopped with the gateway


@pytest.mark.parametrize("failure", [asyncio.TimeoutError, RuntimeError])
async def test_a_probe_that_hangs_or_crashes_is_a_failed_check(failure: type[Exception]) -> None:
    config = load_config_text(CONFIG, source="t.yaml").config
    health = ModelHealth(ModelGuards(config.models))

    class Broken(Probed):
        async def check_health(self) -> None:
            if failure is asyncio.TimeoutError:
                await asyncio.sleep(10)
            raise failure("boom")

    monitor = HealthMonitor(
        config.model_copy(
            update={
                "models": {
                    **config.models,
                    "vllm": config.models["vllm"].model_copy(
                        update={"health_check": HealthCheckConfig(timeout_seconds=0.01)}
                    ),
                }
            }
        ),
        {"vllm": Broken("vllm")},  # type: ignore[dict-item]
        health,
    )
    await monitor.probe("vllm")
    error = health.checks["vllm"].error
    assert error == (
        "no answer within 0.01 s" if failure is asyncio.TimeoutError else "RuntimeError"
    )
