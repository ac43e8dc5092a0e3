"""The chat pipeline end to end in-process: routing by data class, errors, audit, streaming."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.gateway.conftest import Gateway, make_gateway
from zonegate.config.load import LoadedConfig
from zonegate.errors import UpstreamError
from zonegate.gateway import steps
from zonegate.gateway.services import GatewayServices
from zonegate.guards.base import Finding
from zonegate.guards.classify import Classifier

CARD = "4111 1111 1111 1111"


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


async def test_clean_request_goes_to_the_preferred_vendor(gateway: Gateway) -> None:
    r = await gateway.chat("What is the capital of France?")
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "fake reply"
    assert r.headers["x-zonegate-model"] == "vendor-model"
    assert r.headers["x-zonegate-zone"] == "vendor"
    assert r.headers["x-zonegate-data-class"] == "public"
    assert len(gateway.fakes["vendor-model"].calls) == 1
    [record] = gateway.audit()
    assert record["request_id"] == r.headers["x-zonegate-request-id"]
    assert record["decision"] == "allow"
    assert record["model_id"] == "vendor-model"
    assert record["served_model"] == "vendor-model-served"
    assert record["effective_class"] == "public"
    assert record["prompt_tokens"] == 10
    assert record["cost"] is not None
    assert record["config_hash"] == gateway.services.loaded.hash
    assert record["content_mode"] == "full"


async def test_card_number_is_kept_in_the_local_zone(gateway: Gateway) -> None:
    r = await gateway.chat(f"my card is {CARD}, please help")
    assert r.status_code == 200
    assert r.headers["x-zonegate-zone"] == "local"
    assert r.headers["x-zonegate-data-class"] == "restricted"
    assert gateway.fakes["vendor-model"].calls == []
    [record] = gateway.audit()
    assert record["findings"] == {"payment_card": 1}
    assert record["effective_class"] == "restricted"
    assert record["content_mode"] == "hash"
    assert CARD not in json.dumps(record)


async def test_redacted_retention_keeps_the_text_without_the_values(gateway: Gateway) -> None:
    gateway.fakes["local-model"].echo = True
    r = await gateway.chat("mail jane.doe@example.com today", model="local-first")
    assert r.status_code == 200
    [record] = gateway.audit()
    assert record["effective_class"] == "confidential"
    assert record["content"]["mode"] == "redacted"
    assert record["content"]["request"]["messages"] == [
        {"role": "user", "content": "mail [REDACTED_EMAIL] today"}
    ]
    assert record["content"]["response"] == "mail [REDACTED_EMAIL] today"
    assert "jane.doe" not in json.dumps(record)


async def test_no_permitted_model_is_denied_and_nothing_is_called(gateway: Gateway) -> None:
    r = await gateway.chat(f"card {CARD}", model="vendor-only")
    assert r.status_code == 403
    assert error_of(r)["code"] == "data_class_exceeds_zones"
    assert all(f.calls == [] for f in gateway.fakes.values())
    [record] = gateway.audit()
    assert record["decision"] == "deny"
    assert record["reason_code"] == "data_class_exceeds_zones"
    assert record["status"] == 403


async def test_declared_class_raises_but_never_lowers(gateway: Gateway) -> None:
    r = await gateway.chat("hello", headers={"X-Zonegate-Data-Class": "confidential"})
    assert r.headers["x-zonegate-zone"] == "local"
    r = await gateway.chat(f"card {CARD}", headers={"X-Zonegate-Data-Class": "public"})
    assert r.headers["x-zonegate-data-class"] == "restricted"
    assert gateway.fakes["vendor-model"].calls == []
    r = await gateway.chat("hello", metadata={"zonegate_data_class": "restricted"})
    assert r.headers["x-zonegate-zone"] == "local"


async def test_unknown_declared_class_is_a_clear_400(gateway: Gateway) -> None:
    r = await gateway.chat("hello", headers={"X-Zonegate-Data-Class": "secret"})
    assert r.status_code == 400
    assert error_of(r)["code"] == "unknown_data_class"
    assert "restricted" in str(error_of(r)["message"])


async def test_fallback_stays_within_the_permitted_set(gateway: Gateway) -> None:
    gateway.fakes["local-model"].fail_with = UpstreamError("local is down")
    r = await gateway.chat(f"card {CARD}", model="local-first")
    assert r.status_code == 502
    assert gateway.fakes["vendor-model"].calls == []
    [record] = gateway.audit()
    assert record["fallback_chain"] == ["local-model"]
    assert record["status"] == 502


async def test_fallback_to_next_permitted_candidate(gateway: Gateway) -> None:
    gateway.fakes["vendor-model"].fail_with = UpstreamError("vendor is down")
    r = await gateway.chat("hello")
    assert r.status_code == 200
    assert r.headers["x-zonegate-model"] == "local-model"
    [record] = gateway.audit()
    assert record["fallback_chain"] == ["vendor-model", "local-model"]


async def test_route_not_allowed_for_team(gateway: Gateway) -> None:
    narrow = gateway.keys.create("bob", team="narrow").secret
    r = await gateway.client.post(
        "/v1/chat/completions",
        json={"model": "assistant", "messages": [{"role": "user", "content": "hi"}]},
        headers=gateway.headers(narrow),
    )
    assert r.status_code == 403
    assert error_of(r)["code"] == "route_not_allowed"
    models = await gateway.client.get("/v1/models", headers=gateway.headers(narrow))
    assert [m["id"] for m in models.json()["data"]] == ["vendor-only"]


async def test_models_lists_routes_and_models(gateway: Gateway) -> None:
    r = await gateway.client.get("/v1/models", headers=gateway.headers())
    ids = [m["id"] for m in r.json()["data"]]
    assert ids == ["assistant", "vendor-only", "local-first", "local-model", "vendor-model"]


async def test_errors_are_openai_shaped(gateway: Gateway) -> None:
    post = gateway.client.post
    cases: list[tuple[httpx.Response, int, str]] = []
    r = await post("/v1/chat/completions", json={"model": "assistant", "messages": []})
    cases.append((r, 401, "missing_api_key"))
    r = await post("/v1/chat/completions", json={}, headers=gateway.headers("zg_nope_nope"))
    cases.append((r, 401, "invalid_api_key"))
    r = await post("/v1/chat/completions", content=b"{not json", headers=gateway.headers())
    cases.append((r, 400, "invalid_json"))
    r = await post("/v1/chat/completions", content=b"[1, 2]", headers=gateway.headers())
    cases.append((r, 400, "invalid_json"))
    r = await post(
        "/v1/chat/completions",
        json={"model": "assistant", "messages": "hi"},
        headers=gateway.headers(),
    )
    cases.append((r, 400, "invalid_request"))
    r = await post(
        "/v1/chat/completions",
        json={
            "model": "assistant",
            "messages": [{"role": "user", "content": "x"}],
            "temperature": "hot",
        },
        headers=gateway.headers(),
    )
    cases.append((r, 400, "invalid_request"))
    r = await gateway.chat("hello", model="gpt-17")
    cases.append((r, 404, "model_not_found"))
    r = await post("/v1/chat/completions", content=b"x" * 5000, headers=gateway.headers())
    cases.append((r, 413, "request_too_large"))
    r = await gateway.client.get("/v1/nothing")
    cases.append((r, 404, "unknown_endpoint"))
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert error_of(response)["code"] == code, response.text
    r = await post(
        "/v1/chat/completions",
        json={"model": "assistant", "messages": "hi"},
        headers=gateway.headers(),
    )
    assert error_of(r)["param"] == "messages"
    # Every chat request, whatever its outcome, left exactly one audit record.
    assert len(gateway.audit()) == 9


async def test_streaming_with_usage_and_audit(gateway: Gateway) -> None:
    body = {
        "model": "assistant",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with gateway.client.stream(
        "POST", "/v1/chat/completions", json=body, headers=gateway.headers()
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] async for line in r.aiter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    [record] = gateway.audit()
    assert record["stream"] is True
    assert record["completion_tokens"] == 3
    assert record["ttft_ms"] is not None


async def test_streaming_without_include_usage_hides_usage(gateway: Gateway) -> None:
    body = {"model": "assistant", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    r = await gateway.client.post("/v1/chat/completions", json=body, headers=gateway.headers())
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert all("usage" not in json.loads(e) for e in events[:-1])
    [record] = gateway.audit()
    assert record["completion_tokens"] == 3  # metered all the same


async def test_audit_store_failure_fails_closed(gateway: Gateway) -> None:
    with gateway.services.db.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_records"))
    r = await gateway.chat("first")
    assert r.status_code == 503
    assert error_of(r)["code"] == "audit_unavailable"
    vendor_calls = len(gateway.fakes["vendor-model"].calls)
    r = await gateway.chat("second")
    assert r.status_code == 503
    assert len(gateway.fakes["vendor-model"].calls) == vendor_calls  # nothing more sent upstream


async def test_health_endpoints(gateway: Gateway) -> None:
    assert (await gateway.client.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "audit_writer": "ok"}


async def test_a_defect_is_answered_in_shape_and_audited(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(body: object) -> list[str]:
        raise RuntimeError("bug")

    monkeypatch.setattr(steps, "collect_texts", broken)
    r = await gateway.chat("hello")
    assert r.status_code == 500
    assert error_of(r)["code"] == "internal_error"
    assert gateway.fakes["vendor-model"].calls == []
    [record] = gateway.audit()
    assert record["status"] == 500
    assert record["error_class"] == "internal_error"


class _SlowDetector:
    type = "slow"

    def detect(self, text: str) -> list[Finding]:
        time.sleep(0.03)
        return []


async def test_a_detector_past_its_time_budget_refuses_the_request(
    tmp_path: Path, loaded: LoadedConfig
) -> None:
    def slow_classifier(services: GatewayServices) -> None:
        detectors = (*services.classifier.detectors, _SlowDetector())
        services.classifier = Classifier(detectors, services.views.classes, budget=0.01)

    async with make_gateway(tmp_path, loaded, tweak=slow_classifier) as gateway:
        r = await gateway.chat("hello", stream=True)
        assert r.status_code == 503
        assert error_of(r)["code"] == "detector_timeout"
        assert "'slow'" in error_of(r)["message"]
        assert all(fake.calls == [] for fake in gateway.fakes.values())
        [record] = gateway.audit()
        assert record["status"] == 503
        assert record["error_class"] == "detector_timeout"


async def test_a_request_cancelled_before_its_answer_is_still_audited(gateway: Gateway) -> None:
    started = asyncio.Event()
    vendor = gateway.fakes["vendor-model"]
    answer = vendor.complete

    async def slow(request: object) -> object:
        started.set()
        await asyncio.sleep(30)
        return await answer(request)  # type: ignore[arg-type]

    vendor.complete = slow  # type: ignore[assignment,method-assign]
    call = asyncio.create_task(gateway.chat("hello"))
    await started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    [record] = gateway.audit()
    assert record["status"] == 499
    assert record["error_class"] == "cancelled"
    assert record["model_id"] == "vendor-model"
