"""``create_app(config)``: builds all state for one gateway process and its route table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route

from zonegate.config.load import LoadedConfig
from zonegate.errors import ZonegateError
from zonegate.gateway import errors
from zonegate.gateway.handlers import Handlers
from zonegate.gateway.services import GatewayServices, build_services
from zonegate.store.db import Database


def create_app(
    loaded: LoadedConfig, database_url: str, *, instance_id: str | None = None
) -> Starlette:
    """The gateway as an ASGI app. Providers start (digests verified) when it starts."""
    db = Database(database_url, sqlite_synchronous=loaded.config.audit.sqlite_synchronous)
    db.migrate()
    services = build_services(loaded, db, instance_id=instance_id)
    return app_for(services)


def app_for(services: GatewayServices, *, manage_services: bool = True) -> Starlette:
    """The route table over ready-built services; started and closed with the app if asked."""
    handlers = Handlers(services)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_services:
            yield
            return
        await services.start()
        try:
            yield
        finally:
            await services.close()

    routes = [
        Route("/v1/chat/completions", handlers.chat_completions, methods=["POST"]),
        Route("/chat/completions", handlers.chat_completions, methods=["POST"]),
        Route("/v1/messages", handlers.messages, methods=["POST"]),
        Route("/v1/embeddings", handlers.embeddings, methods=["POST"]),
        Route("/embeddings", handlers.embeddings, methods=["POST"]),
        Route("/v1/models", handlers.list_models, methods=["GET"]),
        Route("/healthz", handlers.healthz, methods=["GET"]),
        Route("/readyz", handlers.readyz, methods=["GET"]),
        Route("/metrics", handlers.metrics, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ZonegateError: errors.handle_zonegate_error,
            HTTPException: errors.handle_http_exception,
            Exception: errors.handle_unexpected,
        },
    )
    app.state.services = services
    return app
