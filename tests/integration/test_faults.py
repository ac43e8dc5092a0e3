"""Fault injection against a real misbehaving upstream server process.

One upstream process (``tests.support.upstream_server``) serves every model below; the fault a
model suffers is chosen by its upstream model name (see ``tests.support.upstream_faults``). The
gateway runs in this process over ASGI with its real providers and pipeline, so every byte
between gateway and upstream crosses a real socket. For each fault, plain and streamed where it
applies: what the client gets, that a fallback stays within the zones the request's data may
enter, that the request leaves exactly one audit record, and that no request outlives its model's
configured total timeout (plus a generous margin).

Faulty models live in the ``local`` zone (ceiling ``restricted``) and every route puts one before
``vendor-ok`` (ceiling ``internal``): a plain request may fall back to the vendor, a request
carrying a payment card may not.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import Upstream, start_upstream
from tests.support.upstream_client import stream_end_of
from tests.support.upstream_server import DEFAULT_REPLY, embedding_for
from zonegate.audit.export import iter_records
from zonegate.config.load import load_config_text
from zonegate.config.schema import OpenAICompatProviderConfig
from zonegate.gateway.app import app_for
from zonegate.gateway.services import GatewayServices, build_services
from zonegate.store.db import Database
from zonegate.store.keys import KeyRepository

pytestmark = pytest.mark.integration

MIB = 1 << 20
TOTAL = 3.0  # every model's timeouts.total
MARGIN = 2.0  # generous: this bounds hangs, it does not measure speed
CARD = "4111 1111 1111 1111"  # Luhn-valid: the request is restricted
VENDOR_UPSTREAM = "echo+vendor-ok"
LOCAL_UPSTREAM = "echo+local-ok"

CONFIG = """
zones:
  local: {operator: self, ceiling: restricted}
  vendor: {operator: acme, ceiling: internal}
models:
  local-ok:
    zone: local
    provider: &upstream
      type: openai_compat
      base_url: "${FAULTS_UPSTREAM}"
      model: echo+local-ok
      timeouts: {connect: 1, read: 1, total: 3}
    resilience: &quick
      retry: {attempts: 3, initial_backoff: 0.01, max_backoff: 0.05, max_retry_after: 10}
  vendor-ok:
    zone: vendor
    provider: {<<: *upstream, model: echo+vendor-ok}
    resilience: *quick
  slow-byte: {zone: local, provider: {<<: *upstream, model: firstbyte-5}, resilience: *quick}
  slow-token:
    zone: local
    provider: {<<: *upstream, model: ttft-2}
    resilience: {<<: *quick, first_token_timeout: 0.5}
  brief-stall: {zone: local, provider: {<<: *upstream, model: stall-2-0.3}, resilience: *quick}
  stall: {zone: local, provider: {<<: *upstream, model: stall-2-forever}, resilience: *quick}
  drip: {zone: local, provider: {<<: *upstream, model: drip-0.4}, resilience: *quick}
  retry-503: {zone: local, provider: {<<: *upstream, model: burst-503-2}, resilience: *quick}
  down-503: {zone: local, provider: {<<: *upstream, model: status-503}, resilience: *quick}
  once-500: {zone: local, provider: {<<: *upstream, model: burst-500-1}, resilience: *quick}
  retry-429:
    zone: local
    provider: {<<: *upstream, model: burst-429-1-retry-0.2}
    resilience: *quick
  slow-429:
    zone: local
    provider: {<<: *upstream, model: burst-429-9-retry-30}
    resilience: *quick
  reset: {zone: local, provider: {<<: *upstream, model: reset}, resilience: *quick}
  reset-midway: {zone: local, provider: {<<: *upstream, model: reset-after-2}, resilience: *quick}
  malformed: {zone: local, provider: {<<: *upstream, model: malformed}, resilience: *quick}
  garbage: {zone: local, provider: {<<: *upstream, model: garbage}, resilience: *quick}
  html: {zone: local, provider: {<<: *upstream, model: html}, resilience: *quick}
  no-sse: {zone: local, provider: {<<: *upstream, model: no-sse}, resilience: *quick}
  truncated: {zone: local, provider: {<<: *upstream, model: truncate}, resilience: *quick}
  truncated-early: {zone: local, provider: {<<: *upstream, model: truncate-0}, resilience: *quick}
  stream-error: {zone: local, provider: {<<: *upstream, model: stream-error}, resilience: *quick}
  huge:
    zone: local
    provider: {<<: *upstream, model: huge-4, max_response_bytes: 1048576}
    resilience: *quick
  huge-event:
    zone: local
    provider: {<<: *upstream, model: huge-4+event, max_response_bytes: 32768}
    resilience: *quick
  big-event:
    zone: local
    provider: {<<: *upstream, model: echo+big-event, max_response_bytes: 1024}
    resilience: *quick
  breaker:
    zone: local
    provider: {<<: *upstream, model: status-500+breaker}
    resilience: {<<: *quick, breaker: {failures: 2, open_seconds: 60}}
routes:
  via-slow-byte: {candidates: [slow-byte, vendor-ok]}
  via-slow-token: {candidates: [slow-token, vendor-ok]}
  via-brief-stall: {candidates: [brief-stall, vendor-ok]}
  via-stall: {candidates: [stall, vendor-ok]}
  via-drip: {candidates: [drip, vendor-ok]}
  via-retry-503: {candidates: [retry-503, vendor-ok]}
  via-down-503: {candidates: [down-503, vendor-ok]}
  via-once-500: {candidates: [once-500, vendor-ok]}
  via-retry-429: {candidates: [retry-429, vendor-ok]}
  via-slow-429: {candidates: [slow-429, vendor-ok]}
  via-reset: {candidates: [reset, vendor-ok]}
  via-reset-midway: {candidates: [reset-midway, vendor-ok]}
  via-malformed: {candidates: [malformed, vendor-ok]}
  via-garbage: {candidates: [garbage, vendor-ok]}
  via-html: {candidates: [html, vendor-ok]}
  via-no-sse: {candidates: [no-sse, vendor-ok]}
  via-truncated: {candidates: [truncated, vendor-ok]}
  via-truncated-early: {candidates: [truncated-early, vendor-ok]}
  via-stream-error: {candidates: [stream-error, vendor-ok]}
  via-huge: {candidates: [huge, vendor-ok]}
  via-huge-event: {candidates: [huge-event, vendor-ok]}
  via-big-event: {candidates: [big-event, vendor-ok]}
  via-breaker: {candidates: [breaker, vendor-ok]}
  down-then-local: {candidates: [down-503, vendor-ok, local-ok]}
teams:
  default: {routes: ["*"], models: ["*"]}
"""


# -- the gateway and how to read what happened -----------------------------------------------------


def new_tag() -> str:
    """A unique word of letters only, which no detector takes for a secret or an identifier."""
    return "tag" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:16])


@dataclass
class Call:
    """One request through the gateway: the response, how long it took, and its tag (sent as the
    body's ``user``, which the upstream records and keys its burst counts by)."""

    response: httpx.Response
    elapsed: float
    tag: str

    @property
    def events(self) -> list[str]:
        """The ``data:`` payloads of a streamed answer."""
        return [line[6:] for line in self.response.text.splitlines() if line.startswith("data: ")]

    def streamed_text(self) -> str:
        chunks = [json.loads(e) for e in self.events if e.startswith("{")]
        return "".join(
            c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
        )


@dataclass
class FaultGateway:
    client: httpx.AsyncClient
    services: GatewayServices
    key: str
    upstream: Upstream
    calls: list[Call] = field(default_factory=list)

    async def chat(self, route: str, text: str, *, stream: bool = False, tries: int = 1) -> Call:
        """Send ``text`` to ``route``; fail if no answer comes within the bound for ``tries``
        upstream calls (each within timeouts.total) plus the margin."""
        tag = new_tag()
        body = {
            "model": route,
            "messages": [{"role": "user", "content": f"{text} [{tag}]"}],
            "stream": stream,
            "user": tag,
        }
        return await self._post("/v1/chat/completions", body, tag, tries)

    async def embed(self, route: str, texts: list[str], *, tries: int = 1) -> Call:
        tag = new_tag()
        body = {"model": route, "input": texts, "user": tag}
        return await self._post("/v1/embeddings", body, tag, tries)

    async def _post(self, path: str, body: dict[str, Any], tag: str, tries: int) -> Call:
        bound = TOTAL * tries + MARGIN
        headers = {"Authorization": f"Bearer {self.key}"}
        started = time.perf_counter()
        try:
            async with asyncio.timeout(bound):
                response = await self.client.post(path, json=body, headers=headers)
        except TimeoutError:
            pytest.fail(f"no answer within {bound:g} s ({tries} upstream call(s) of {TOTAL:g} s)")
        call = Call(response, time.perf_counter() - started, tag)
        self.calls.append(call)
        assert call.elapsed < bound, f"{call.elapsed:.2f} s, over the bound of {bound:g} s"
        return call

    def record(self, call: Call) -> dict[str, Any]:
        """The request's audit record; also checks every request so far left exactly one."""
        records = list(iter_records(self.services.db))
        assert len(records) == len(self.calls)
        request_id = call.response.headers["x-zonegate-request-id"]
        [record] = [r for r in records if r["request_id"] == request_id]
        return record

    def sent(self, upstream_model: str, call: Call) -> list[dict[str, Any]]:
        """What the upstream received for ``upstream_model`` during ``call``."""
        return [
            r
            for r in self.upstream.received()
            if isinstance(r["body"], dict)
            and r["body"].get("user") == call.tag
            and r["body"].get("model") == upstream_model
        ]

    def sent_elsewhere(self, model_id: str, call: Call) -> list[dict[str, Any]]:
        """What any model other than ``model_id`` received during ``call``."""
        upstream_model = self.upstream_model(model_id)
        return [
            r
            for r in self.upstream.received()
            if isinstance(r["body"], dict)
            and r["body"].get("user") == call.tag
            and r["body"].get("model") != upstream_model
        ]

    def upstream_model(self, model_id: str) -> str:
        """The upstream model name ``model_id`` is pinned to: its fault directives."""
        provider = self.services.loaded.config.models[model_id].provider
        assert isinstance(provider, OpenAICompatProviderConfig)
        return provider.model


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with start_upstream(tmp_path_factory.mktemp("faults-upstream")) as up:
        yield up


@pytest.fixture
async def gw(tmp_path: Path, upstream: Upstream) -> AsyncIterator[FaultGateway]:
    """A fresh gateway per test (breakers closed, empty audit log) with its real providers."""
    loaded = load_config_text(
        CONFIG, source="faults.yaml", env={"FAULTS_UPSTREAM": upstream.base_url}
    )
    db = Database(f"sqlite:///{tmp_path / 'gw.db'}")
    db.migrate()
    services = build_services(loaded, db, instance_id="faults")
    await services.start()
    key = KeyRepository(db).create("tester", team="default").secret
    app = app_for(services, manage_services=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        try:
            yield FaultGateway(client, services, key, upstream)
        finally:
            await services.close()


def assert_openai_error(call: Call, status: int, code: str) -> None:
    """An error answer in OpenAI's shape, with the status and code expected."""
    response = call.response
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["type"] in {"upstream_error", "server_error"}


def tries_of(model_id: str, code: str, count: int) -> list[dict[str, Any]]:
    """The audit's ``guard_verdicts.upstream`` for ``count`` failed tries on one model."""
    return [{"model": model_id, "attempt": n, "error": code} for n in range(1, count + 1)]


# -- faults before any output: the next permitted candidate answers ----------------------------


@dataclass(frozen=True)
class Fault:
    model: str  # the faulty model's id in the gateway
    stream: bool
    code: str  # what its failure is called, in the audit and in an error answer
    status: int  # the HTTP status when no other candidate is permitted
    tries: int = 1  # calls the faulty model receives (retries included)

    @property
    def id(self) -> str:
        return f"{self.model}-{'sse' if self.stream else 'json'}"


BEFORE_OUTPUT = [
    # nothing on the wire, not even a status line, past timeouts.read
    Fault("slow-byte", False, "upstream_timeout", 504),
    Fault("slow-byte", True, "upstream_timeout", 504),
    # headers and a role chunk, then no token: the first-token deadline (a plain answer waits
    # past timeouts.read instead)
    Fault("slow-token", False, "upstream_timeout", 504),
    Fault("slow-token", True, "upstream_first_token_timeout", 504),
    # 503 every time: retried on the same model, then the next candidate
    Fault("down-503", False, "upstream_unavailable", 502, tries=3),
    Fault("down-503", True, "upstream_unavailable", 502, tries=3),
    # a 500 is not retried, although a second try would have passed
    Fault("once-500", False, "upstream_server_error", 502),
    Fault("once-500", True, "upstream_server_error", 502),
    # 429 asking for 30 s, over max_retry_after: the next candidate at once, no wait
    Fault("slow-429", False, "upstream_rate_limited", 502),
    Fault("slow-429", True, "upstream_rate_limited", 502),
    # the connection reset once the request is read; or mid-body for a plain answer
    Fault("reset", False, "upstream_connection_error", 502),
    Fault("reset", True, "upstream_connection_error", 502),
    Fault("reset-midway", False, "upstream_connection_error", 502),
    # 200 with broken JSON (one broken event for a stream)
    Fault("malformed", False, "upstream_bad_response", 502),
    Fault("malformed", True, "upstream_bad_response", 502),
    # wrong content: HTML labelled JSON, an HTML page, a plain JSON answer to a stream request
    Fault("garbage", False, "upstream_bad_response", 502),
    Fault("garbage", True, "upstream_bad_response", 502),
    Fault("html", False, "upstream_bad_response", 502),
    Fault("html", True, "upstream_bad_response", 502),
    Fault("no-sse", True, "upstream_bad_response", 502),
    # a stream cut inside its first token's event, with no end marker
    Fault("truncated-early", True, "upstream_bad_response", 502),
    # 4 MiB against max_response_bytes: a plain body of 1 MiB, a streamed event of 32 KiB
    Fault("huge", False, "upstream_response_too_large", 502),
    Fault("huge-event", True, "upstream_response_too_large", 502),
]


@pytest.mark.parametrize("fault", BEFORE_OUTPUT, ids=[f.id for f in BEFORE_OUTPUT])
async def test_a_fault_before_any_output_falls_back_to_the_next_candidate(
    gw: FaultGateway, fault: Fault
) -> None:
    text = "What is the capital of France?"
    call = await gw.chat(f"via-{fault.model}", text, stream=fault.stream, tries=fault.tries + 1)

    response = call.response
    assert response.status_code == 200, response.text[:300]
    assert response.headers["x-zonegate-model"] == "vendor-ok"
    assert response.headers["x-zonegate-zone"] == "vendor"
    if fault.stream:
        assert call.events[-1] == "[DONE]"
        assert call.streamed_text() == f"{text} [{call.tag}]"  # the vendor's echo, whole
    else:
        assert response.json()["choices"][0]["message"]["content"] == f"{text} [{call.tag}]"
    assert len(gw.sent(gw.upstream_model(fault.model), call)) == fault.tries
    assert len(gw.sent(VENDOR_UPSTREAM, call)) == 1

    record = gw.record(call)
    assert record["status"] == 200
    assert record["error_class"] is None
    assert record["guard_verdicts"]["policy"] == {fault.model: "kept", "vendor-ok": "kept"}
    assert record["model_id"] == "vendor-ok"
    assert record["fallback_chain"] == [fault.model, "vendor-ok"]
    assert record["guard_verdicts"]["upstream"] == tries_of(fault.model, fault.code, fault.tries)


@pytest.mark.parametrize("fault", BEFORE_OUTPUT, ids=[f.id for f in BEFORE_OUTPUT])
async def test_with_restricted_data_the_fault_is_the_answer_and_the_vendor_gets_nothing(
    gw: FaultGateway, fault: Fault
) -> None:
    call = await gw.chat(
        f"via-{fault.model}", f"Refund card {CARD}", stream=fault.stream, tries=fault.tries
    )

    assert_openai_error(call, fault.status, fault.code)
    assert "x-zonegate-model" in call.response.headers
    assert len(gw.sent(gw.upstream_model(fault.model), call)) == fault.tries
    assert gw.sent(VENDOR_UPSTREAM, call) == []
    assert gw.sent_elsewhere(fault.model, call) == []  # the card went to no other model

    record = gw.record(call)
    assert record["status"] == fault.status
    assert record["error_class"] == fault.code
    assert record["effective_class"] == "restricted"
    assert record["fallback_chain"] == [fault.model]
    assert record["guard_verdicts"]["policy"] == {
        fault.model: "kept",
        "vendor-ok": "zone_ceiling_below_data_class",
    }
    assert record["guard_verdicts"]["upstream"] == tries_of(fault.model, fault.code, fault.tries)


async def test_restricted_data_falls_back_past_the_vendor_to_a_permitted_model(
    gw: FaultGateway,
) -> None:
    call = await gw.chat("down-then-local", f"Refund card {CARD}", tries=4)

    assert call.response.status_code == 200, call.response.text[:300]
    assert call.response.headers["x-zonegate-model"] == "local-ok"
    assert CARD in call.response.json()["choices"][0]["message"]["content"]
    assert len(gw.sent("status-503", call)) == 3
    assert gw.sent(VENDOR_UPSTREAM, call) == []
    assert len(gw.sent(LOCAL_UPSTREAM, call)) == 1
    record = gw.record(call)
    assert record["fallback_chain"] == ["down-503", "local-ok"]
    assert record["status"] == 200


# -- faults after the first token: the stream ends with an error event ---------------------------


@dataclass(frozen=True)
class MidStream:
    model: str
    code: str
    status: int  # the status the audit record carries
    delivered: str  # the text the client received before the error


MID_STREAM = [
    # two tokens, then silence past timeouts.read
    MidStream("stall", "upstream_timeout", 504, "Hello from"),
    # two tokens, then a TCP reset
    MidStream("reset-midway", "upstream_connection_error", 502, "Hello from"),
    # one token, half of the next event, then a clean end with no end marker
    MidStream("truncated", "upstream_bad_response", 502, "Hello"),
    # one token, then the upstream's own error event
    MidStream("stream-error", "upstream_stream_error", 502, "Hello"),
    # a token every 0.4 s, each within timeouts.read, until timeouts.total ends it
    MidStream("drip", "upstream_timeout", 504, "Hello from the upstream."),
]


@pytest.mark.parametrize("fault", MID_STREAM, ids=[f.model for f in MID_STREAM])
async def test_a_fault_after_the_first_token_ends_the_stream_with_an_error_event(
    gw: FaultGateway, fault: MidStream
) -> None:
    call = await gw.chat(f"via-{fault.model}", "Tell me a story", stream=True)

    response = call.response
    assert response.status_code == 200  # the headers went out with the first token
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-zonegate-model"] == fault.model
    *chunks, last = call.events
    assert "[DONE]" not in call.events
    assert json.loads(last)["error"]["code"] == fault.code
    assert set(json.loads(last)["error"]) == {"message", "type", "param", "code"}
    assert all("error" not in json.loads(c) for c in chunks)
    assert call.streamed_text().startswith(fault.delivered)
    if fault.model != "drip":
        assert call.streamed_text() == fault.delivered

    assert len(gw.sent(gw.upstream_model(fault.model), call)) == 1  # no retry after output...
    assert gw.sent(VENDOR_UPSTREAM, call) == []  # ...and no fallback
    assert stream_end_of(gw.upstream, call.tag)["complete"] is False

    record = gw.record(call)
    assert record["status"] == fault.status
    assert record["error_class"] == fault.code
    assert record["model_id"] == fault.model
    assert record["fallback_chain"] == [fault.model]
    assert "upstream" not in record["guard_verdicts"]  # no failed try before the stream opened


# -- retries that succeed, and pauses that are not failures ----------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_a_503_burst_is_retried_on_the_same_model(gw: FaultGateway, stream: bool) -> None:
    call = await gw.chat("via-retry-503", "hello", stream=stream, tries=3)

    assert call.response.status_code == 200, call.response.text[:300]
    assert call.response.headers["x-zonegate-model"] == "retry-503"
    if stream:
        assert call.events[-1] == "[DONE]"
        assert call.streamed_text() == DEFAULT_REPLY
    else:
        assert call.response.json()["choices"][0]["message"]["content"] == DEFAULT_REPLY
    assert len(gw.sent("burst-503-2", call)) == 3
    assert gw.sent(VENDOR_UPSTREAM, call) == []
    record = gw.record(call)
    assert record["status"] == 200
    assert record["fallback_chain"] == ["retry-503"]
    assert record["guard_verdicts"]["upstream"] == tries_of("retry-503", "upstream_unavailable", 2)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_a_429_is_retried_after_the_retry_after_it_asked_for(
    gw: FaultGateway, stream: bool
) -> None:
    call = await gw.chat("via-retry-429", "hello", stream=stream, tries=2)

    assert call.response.status_code == 200, call.response.text[:300]
    assert call.response.headers["x-zonegate-model"] == "retry-429"
    # The jittered backoff alone would wait at most initial_backoff (0.01 s): the 0.2 s wait
    # is the upstream's Retry-After.
    assert call.elapsed >= 0.2
    assert len(gw.sent("burst-429-1-retry-0.2", call)) == 2
    assert gw.sent(VENDOR_UPSTREAM, call) == []
    record = gw.record(call)
    assert record["status"] == 200
    assert record["guard_verdicts"]["upstream"] == tries_of("retry-429", "upstream_rate_limited", 1)


async def test_a_stall_shorter_than_the_read_timeout_is_not_a_failure(gw: FaultGateway) -> None:
    call = await gw.chat("via-brief-stall", "hello", stream=True)

    assert call.response.headers["x-zonegate-model"] == "brief-stall"
    assert call.events[-1] == "[DONE]"
    assert call.streamed_text() == DEFAULT_REPLY
    assert stream_end_of(gw.upstream, call.tag)["complete"] is True
    record = gw.record(call)
    assert record["status"] == 200
    assert "upstream" not in record["guard_verdicts"]


async def test_an_enormous_answer_streamed_in_small_events_is_passed_on_whole(
    gw: FaultGateway,
) -> None:
    """max_response_bytes bounds one event (here 1 MiB), not a whole stream of 64 KiB events."""
    call = await gw.chat("via-huge", "hello", stream=True)

    assert call.response.headers["x-zonegate-model"] == "huge"
    assert call.events[-1] == "[DONE]"
    assert len(call.streamed_text()) == 4 * MIB
    assert gw.record(call)["status"] == 200


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_one_answer_or_event_over_max_response_bytes_is_refused(
    gw: FaultGateway, stream: bool
) -> None:
    """The model echoes a 3 KB word against a limit of 1 KiB: as a plain body, and as one small
    streamed event that arrives in a single read. Either way the answer is refused before any
    of it reaches the client, and the next candidate answers."""
    word = "x" * 3000
    call = await gw.chat("via-big-event", word, stream=stream, tries=2)

    assert call.response.status_code == 200, call.response.text[:300]
    assert call.response.headers["x-zonegate-model"] == "vendor-ok"
    record = gw.record(call)
    assert record["fallback_chain"] == ["big-event", "vendor-ok"]
    assert record["guard_verdicts"]["upstream"] == tries_of(
        "big-event", "upstream_response_too_large", 1
    )


# -- the circuit breaker ---------------------------------------------------------------------------


async def test_repeated_failures_open_the_circuit_and_the_model_is_skipped(
    gw: FaultGateway,
) -> None:
    for _ in range(2):  # breaker.failures
        call = await gw.chat("via-breaker", "hello", tries=2)
        assert call.response.headers["x-zonegate-model"] == "vendor-ok"
        assert len(gw.sent("status-500+breaker", call)) == 1
        assert gw.record(call)["guard_verdicts"]["upstream"] == tries_of(
            "breaker", "upstream_server_error", 1
        )
    ready = (await gw.client.get("/readyz")).json()
    assert ready["models"]["breaker"]["circuit"] == "open"
    assert ready["models"]["vendor-ok"]["circuit"] == "closed"

    for stream in (False, True):  # skipped: the upstream sees nothing more
        call = await gw.chat("via-breaker", "hello", stream=stream)
        assert call.response.headers["x-zonegate-model"] == "vendor-ok"
        assert gw.sent("status-500+breaker", call) == []
        record = gw.record(call)
        assert record["fallback_chain"] == ["vendor-ok"]
        assert record["guard_verdicts"]["policy"]["breaker"] == "unhealthy"
        assert "upstream" not in record["guard_verdicts"]

    # Restricted data: the open model was its only permitted candidate, and the vendor is not one.
    call = await gw.chat("via-breaker", f"Refund card {CARD}")
    assert_openai_error(call, 503, "no_healthy_model")
    assert gw.sent("status-500+breaker", call) == []
    assert gw.sent(VENDOR_UPSTREAM, call) == []
    record = gw.record(call)
    assert record["status"] == 503
    assert record["decision"] == "deny"
    assert record["error_class"] == "no_healthy_model"


# -- embeddings through the same faults -----------------------------------------------------------


async def test_embeddings_are_retried_on_a_503_burst(gw: FaultGateway) -> None:
    call = await gw.embed("via-retry-503", ["first", "second"], tries=3)

    assert call.response.status_code == 200, call.response.text[:300]
    assert call.response.headers["x-zonegate-model"] == "retry-503"
    data = call.response.json()["data"]
    assert [d["embedding"] for d in data] == [embedding_for("first"), embedding_for("second")]
    assert [r["path"] for r in gw.sent("burst-503-2", call)] == ["/v1/embeddings"] * 3
    record = gw.record(call)
    assert record["endpoint"] == "embeddings"
    assert record["guard_verdicts"]["upstream"] == tries_of("retry-503", "upstream_unavailable", 2)


async def test_embeddings_over_max_response_bytes_fall_back(gw: FaultGateway) -> None:
    call = await gw.embed("via-huge", ["first"], tries=2)

    assert call.response.status_code == 200, call.response.text[:300]
    assert call.response.headers["x-zonegate-model"] == "vendor-ok"
    assert call.response.json()["data"][0]["embedding"] == embedding_for("first")
    record = gw.record(call)
    assert record["fallback_chain"] == ["huge", "vendor-ok"]
    assert record["guard_verdicts"]["upstream"] == tries_of(
        "huge", "upstream_response_too_large", 1
    )


async def test_restricted_embeddings_never_fall_back_to_the_vendor(gw: FaultGateway) -> None:
    call = await gw.embed("via-down-503", [f"card {CARD}", "other"], tries=3)

    assert_openai_error(call, 502, "upstream_unavailable")
    assert len(gw.sent("status-503", call)) == 3
    assert gw.sent(VENDOR_UPSTREAM, call) == []
    record = gw.record(call)
    assert record["status"] == 502
    assert record["error_class"] == "upstream_unavailable"
    assert record["fallback_chain"] == ["down-503"]
