"""In-process gateway tests: the real pipeline, store and audit log, with recording fake providers.

Fakes stand in for upstreams only here (unit level); integration tests use real processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.store.backends import pg_schema_url, pg_user  # noqa: F401 - fixtures
from zonegate.audit.export import iter_records
from zonegate.config.load import LoadedConfig, load_config_text
from zonegate.errors import UpstreamError
from zonegate.gateway.app import app_for
from zonegate.gateway.health import HealthMonitor
from zonegate.gateway.services import GatewayServices, build_services
from zonegate.providers.base import Capabilities
from zonegate.store.db import Database
from zonegate.store.keys import KeyRepository
from zonegate.wire.openai_chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    Usage,
)
from zonegate.wire.openai_embeddings import (
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
)

CONFIG = """
zones:
  local: {operator: self, ceiling: restricted, region: eu}
  vendor: {operator: acme, ceiling: internal, region: us}
models:
  local-model:
    zone: local
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: local-upstream}
  vendor-model:
    zone: vendor
    provider: {type: openai_compat, base_url: "http://127.0.0.1:9/v1", model: vendor-upstream}
    pricing: {input_per_mtok: "1.00", output_per_mtok: "2.00"}
routes:
  assistant: {candidates: [vendor-model, local-model]}
  vendor-only: {candidates: [vendor-model]}
  local-first: {candidates: [local-model, vendor-model]}
teams:
  default: {routes: ["*"], models: ["*"]}
  narrow: {routes: [vendor-only]}
retention:
  public: {content: full, ttl_days: 30}
  confidential: {content: redacted, ttl_days: 90}
  restricted: {content: hash, ttl_days: 180}
server: {max_body_bytes: 4096}
"""


@dataclass
class FakeProvider:
    """Records every request; answers with fixed text, or fails when told to."""

    model_id: str
    reply: str = "fake reply"
    echo: bool = False  # reply with the last user message as received
    finish: bool = True  # streams end with a finish_reason chunk (some servers send none)
    fail_with: UpstreamError | None = None
    fail_times: int | None = None  # fail only this many calls, then answer
    first_delay: float = 0.0  # seconds before a stream's first content
    calls: list[ChatCompletionRequest] = field(default_factory=list)
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(embeddings=True))

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def _reply(self, request: ChatCompletionRequest) -> str:
        if self.echo:
            return [m for m in request.messages if m.role == "user"][-1].text()
        return self.reply

    def _maybe_fail(self) -> None:
        if self.fail_with is None:
            return
        if self.fail_times is None:
            raise self.fail_with
        if self.fail_times > 0:
            self.fail_times -= 1
            raise self.fail_with

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        self.calls.append(request)  # type: ignore[arg-type]
        self._maybe_fail()
        data = [
            Embedding(index=i, embedding=[float(len(t)), 1.0])
            for i, t in enumerate(request.texts())
        ]
        return EmbeddingResponse(
            data=data,
            model=f"{self.model_id}-served",
            usage=EmbeddingUsage(prompt_tokens=7, total_tokens=7),
        )

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        self.calls.append(request)
        self._maybe_fail()
        reply = self._reply(request)
        return ChatCompletion(
            id="cmpl-1",
            created=int(time.time()),
            model=f"{self.model_id}-served",
            choices=[Choice(message=AssistantMessage(content=reply), finish_reason="stop")],
            usage=Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15),
        )

    async def stream(self, request: ChatCompletionRequest) -> AsyncIterator[ChatCompletionChunk]:
        self.calls.append(request)
        self._maybe_fail()
        base = {"id": "cmpl-1", "created": int(time.time()), "model": f"{self.model_id}-served"}
        yield ChatCompletionChunk(**base, choices=[ChunkChoice(delta=Delta(role="assistant"))])
        if self.first_delay:
            await asyncio.sleep(self.first_delay)
        reply = self._reply(request)
        pieces = [reply[i : i + 3] for i in range(0, len(reply), 3)] if self.echo else reply.split()
        for piece in pieces:
            yield ChatCompletionChunk(**base, choices=[ChunkChoice(delta=Delta(content=piece))])
        if self.finish:
            yield ChatCompletionChunk(**base, choices=[ChunkChoice(finish_reason="stop")])
        yield ChatCompletionChunk(
            **base, choices=[], usage=Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13)
        )


@dataclass
class Gateway:
    client: httpx.AsyncClient
    services: GatewayServices
    fakes: dict[str, FakeProvider]
    key: str
    keys: KeyRepository

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}", **extra}

    def audit(self) -> list[dict[str, Any]]:
        return list(iter_records(self.services.db))

    async def chat(
        self,
        content: str = "hello",
        model: str = "assistant",
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": content}], **params}
        return await self.client.post(
            "/v1/chat/completions", json=body, headers=self.headers(**(headers or {}))
        )


@pytest.fixture
def loaded() -> LoadedConfig:
    return load_config_text(CONFIG, source="test.yaml")


@pytest.fixture
async def gateway(tmp_path: Path, loaded: LoadedConfig) -> AsyncIterator[Gateway]:
    async with make_gateway(tmp_path, loaded) as gw:
        yield gw


class make_gateway:
    def __init__(
        self,
        tmp_path: Path,
        loaded: LoadedConfig,
        db_url: str | None = None,
        tweak: Callable[[GatewayServices], None] | None = None,
    ) -> None:
        self.db = Database(db_url or f"sqlite:///{tmp_path / 'gw.db'}")
        self.loaded = loaded
        self.tweak = tweak

    async def __aenter__(self) -> Gateway:
        self.db.migrate()
        services = build_services(self.loaded, self.db, instance_id="test")
        fakes = {mid: FakeProvider(mid) for mid in self.loaded.config.models}
        services.providers = fakes  # type: ignore[assignment]
        services.monitor = HealthMonitor(self.loaded.config, fakes, services.health)  # type: ignore[arg-type]
        if self.tweak:
            self.tweak(services)
        await services.start()
        self.services = services
        keys = KeyRepository(self.db)
        key = keys.create("alice", team="default").secret
        app = app_for(services, manage_services=False)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        self.client = client
        return Gateway(client, services, fakes, key, keys)

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self.services.close()
