"""Test doubles for runner tests: a scripted upstream, small scorers, a config and suites.

The gateway itself is real (pipeline, policy, detectors, audit, key store); only the upstream
model is a fake, installed through ``open_gateway``'s ``prepare`` hook.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from zonegate.config.load import LoadedConfig, load_config_text
from zonegate.errors import UpstreamError
from zonegate.evals.client import GatewayClient, open_gateway
from zonegate.evals.types import Item, Judge, Score, ScorerSpec, Suite
from zonegate.gateway.health import HealthMonitor
from zonegate.gateway.services import GatewayServices
from zonegate.providers.base import Capabilities
from zonegate.store.db import Database
from zonegate.wire.openai_chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    Usage,
)

_NO_RETRY = "resilience: {retry: {attempts: 1}, breaker: {failures: 1000}}"
CONFIG = f"""
zones:
  local: {{operator: self, ceiling: restricted, region: eu}}
  vendor: {{operator: acme, ceiling: internal, region: us}}
models:
  local-model:
    zone: local
    provider: {{type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: local-upstream}}
    health_check: {{enabled: false}}
    {_NO_RETRY}
  vendor-model:
    zone: vendor
    version: "2026-01-01"
    provider: {{type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: vendor-upstream}}
    pricing: {{input_per_mtok: "1.00", output_per_mtok: "2.00"}}
    {_NO_RETRY}
routes:
  assistant: {{candidates: [vendor-model]}}
  judge: {{candidates: [local-model]}}
teams:
  default: {{routes: ["*"], models: ["*"]}}
  qa: {{routes: [judge], models: []}}
retention:
  public: {{content: full, ttl_days: 30}}
  restricted: {{content: hash, ttl_days: 180}}
"""

CARD = "4111 1111 1111 1111"  # payment card: restricted, above the vendor zone's ceiling


def loaded_config(text: str = CONFIG) -> LoadedConfig:
    return load_config_text(text, source="eval-test.yaml")


def last_user(request: ChatCompletionRequest) -> str:
    return [m for m in request.messages if m.role == "user"][-1].text()


@dataclass
class ScriptedUpstream:
    """A fake model: answers from ``answers`` by the last user message (else echoes it), fails
    while ``failures`` has entries, holds calls while ``gate`` is closed, and counts."""

    model_id: str
    answers: dict[str, str] = field(default_factory=dict)
    failures: list[Exception] = field(default_factory=list)
    gate: asyncio.Event | None = None
    hold_after: int | None = None  # only calls past this many wait for the gate
    hang_first: int = 0  # this many calls never answer (until cancelled)
    fingerprint: str | None = "fp_1"
    calls: list[ChatCompletionRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    capabilities: Capabilities = field(default_factory=Capabilities)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def prompts(self) -> list[str]:
        return [last_user(r) for r in self.calls]

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        self.calls.append(request)
        number = len(self.calls)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if number <= self.hang_first:
                await asyncio.Event().wait()
            if self.gate is not None and (self.hold_after is None or number > self.hold_after):
                await self.gate.wait()
            if self.failures:
                raise self.failures.pop(0)
            prompt = last_user(request)
            return ChatCompletion(
                id=f"cmpl-{number}",
                created=int(time.time()),
                model=f"{self.model_id}-served",
                system_fingerprint=self.fingerprint,
                choices=[
                    Choice(
                        message=AssistantMessage(content=self.answers.get(prompt, prompt)),
                        finish_reason="stop",
                    )
                ],
                usage=Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15),
            )
        finally:
            self.in_flight -= 1

    async def stream(self, request: ChatCompletionRequest) -> AsyncIterator[ChatCompletionChunk]:
        raise UpstreamError("streaming is not used by the runner")
        yield  # pragma: no cover - makes this an async generator


def install(upstreams: dict[str, ScriptedUpstream]) -> Callable[[GatewayServices], None]:
    """A ``prepare`` hook putting the fakes in place of the configured providers."""

    def prepare(services: GatewayServices) -> None:
        fakes = {mid: upstreams.get(mid) or ScriptedUpstream(mid) for mid in services.providers}
        upstreams.update(fakes)
        services.providers = fakes  # type: ignore[assignment]
        services.monitor = HealthMonitor(services.loaded.config, fakes, services.health)  # type: ignore[arg-type]

    return prepare


@asynccontextmanager
async def eval_gateway(
    loaded: LoadedConfig,
    db: Database,
    upstreams: dict[str, ScriptedUpstream],
    team: str = "default",
) -> AsyncIterator[GatewayClient]:
    async with open_gateway(loaded, db, team=team, prepare=install(upstreams)) as client:
        yield client


def make_suite(
    prompts: dict[str, str],
    *,
    name: str = "arith",
    parameters: dict[str, Any] | None = None,
    scorers: tuple[str, ...] = ("exact",),
) -> Suite:
    """A suite of ``{item id: prompt}`` whose reference is the id's answer in ``REFERENCES``."""
    items = tuple(
        Item(id=i, messages=({"role": "user", "content": p},), reference=REFERENCES.get(i))
        for i, p in prompts.items()
    )
    params = parameters if parameters is not None else {"temperature": 0, "max_tokens": 16}
    digest = hashlib.sha256(repr((name, sorted(prompts.items()), params)).encode()).hexdigest()
    return Suite(
        name=name,
        description="test suite",
        version=digest,
        scorers=tuple(ScorerSpec(s) for s in scorers),
        items=items,
        parameters=params,
    )


REFERENCES = {"add": "4", "mul": "6", "cap": "Paris", "sub": "1"}
PROMPTS = {"add": "2+2?", "mul": "2*3?", "cap": "Capital of France?"}
ANSWERS = {"2+2?": "4", "2*3?": "5", "Capital of France?": "Paris"}  # one wrong answer


class Exact:
    """Passes when the output equals the item's reference."""

    name = "exact"
    needs_judge = False

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        ok = output.strip() == str(item.reference)
        return Score(self.name, ok, 1.0 if ok else 0.0, "equal" if ok else f"got {output!r}")


class NonEmpty:
    name = "non_empty"
    needs_judge = False

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        return Score(self.name, bool(output), float(bool(output)), "")


class Broken:
    name = "broken"
    needs_judge = False

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        raise KeyError("no such field")


class AskJudge:
    """Asks the judge whether the output is right; passes on 'yes'."""

    name = "judged"
    needs_judge = True

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        assert judge is not None
        verdict = await judge([{"role": "user", "content": f"Is {output!r} right? yes/no"}])
        ok = verdict.strip().lower() == "yes"
        return Score(self.name, ok, float(ok), verdict)


async def wait_for(condition: Callable[[], bool], what: str, deadline: float = 30.0) -> None:
    """Yield to the loop until ``condition()`` holds; the deadline only guards against hangs."""
    try:
        async with asyncio.timeout(deadline):
            while not condition():  # noqa: ASYNC110 - state owned by other tasks
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None
