"""Thin HTTP handlers: each hands the request to a service and returns its response."""

from __future__ import annotations

import time

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zonegate.gateway.anthropic_dialect import AnthropicDialect
from zonegate.gateway.embeddings import EmbeddingsPipeline
from zonegate.gateway.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from zonegate.gateway.pipeline import ChatPipeline
from zonegate.gateway.services import GatewayServices
from zonegate.gateway.sse import SSEResponse
from zonegate.policy.decide import decide
from zonegate.policy.types import Allow, PolicyInput


class Handlers:
    def __init__(self, services: GatewayServices) -> None:
        self.s = services
        self.chat = ChatPipeline(services)
        self.messages_pipeline = ChatPipeline(services, AnthropicDialect())
        self.embeddings_pipeline = EmbeddingsPipeline(services)
        self._started = int(time.time())

    async def chat_completions(self, request: Request) -> Response | SSEResponse:
        return await self.chat.handle(request)

    async def messages(self, request: Request) -> Response | SSEResponse:
        return await self.messages_pipeline.handle(request)

    async def embeddings(self, request: Request) -> Response | SSEResponse:
        return await self.embeddings_pipeline.handle(request)

    async def list_models(self, request: Request) -> Response:
        """Routes and models this key may use (those the policy would allow at the lowest class)."""
        key = await self.s.authenticator.authenticate(
            request.headers.get("authorization"), request.headers.get("x-api-key")
        )
        principal = self.s.principal(key)
        config = self.s.loaded.config
        lowest = self.s.views.classes.max_rank()
        data = []
        for name in [*config.routes, *config.models]:
            probe = PolicyInput(principal=principal, route_name=name, effective_rank=lowest)
            if not isinstance(decide(probe, self.s.views), Allow):
                continue
            if name in config.routes:
                owner = "zonegate-route"
            else:
                owner = config.zones[config.models[name].zone].operator
            data.append(
                {"id": name, "object": "model", "created": self._started, "owned_by": owner}
            )
        return JSONResponse({"object": "list", "data": data})

    async def metrics(self, request: Request) -> Response:
        return Response(self.s.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await anyio.to_thread.run_sync(self.s.db.ping)
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports any failure rather than raising
            checks["database"] = f"failing: {type(exc).__name__}"
        checks["audit_writer"] = "ok" if self.s.writer.healthy else "failing"
        health = self.s.health
        circuits = self.s.guards.states()
        models: dict[str, dict[str, object]] = {}
        for m in self.s.providers:
            status = "down" if m in health.down else "ok" if circuits[m] == "closed" else "degraded"
            models[m] = {"status": status, "circuit": circuits[m]}
            check = health.checks.get(m)
            if check is not None:
                models[m]["health_check"] = {"checked_at": check.checked_at, "error": check.error}
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks, "models": models},
            status_code=200 if ready else 503,
        )
