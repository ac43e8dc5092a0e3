"""Everything one gateway process needs, built once from the config in ``create_app``."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from zonegate.audit.writer import AuditWriter
from zonegate.config.credentials import resolve_secret
from zonegate.config.load import LoadedConfig
from zonegate.gateway.auth import Authenticator
from zonegate.gateway.health import HealthMonitor, ModelHealth
from zonegate.gateway.metrics import GatewayMetrics
from zonegate.gateway.resilience import ModelGuards
from zonegate.gateway.route_state import RouteState
from zonegate.guards.classify import Classifier
from zonegate.guards.injection import InjectionScorer
from zonegate.guards.registry import load_detectors
from zonegate.guards.transforms import RequestTransformer
from zonegate.policy.types import PrincipalView
from zonegate.policy.views import PolicyViews, build_views, principal_view
from zonegate.providers.base import Provider
from zonegate.providers.registry import ProviderRegistry
from zonegate.store.db import Database
from zonegate.store.keys import KeyInfo, KeyRepository
from zonegate.store.route_repo import RouteRepository


@dataclass
class GatewayServices:
    loaded: LoadedConfig
    db: Database
    views: PolicyViews
    classifier: Classifier
    transformer: RequestTransformer
    injection: InjectionScorer
    providers: Mapping[str, Provider]
    authenticator: Authenticator
    writer: AuditWriter
    instance_id: str
    guards: ModelGuards
    health: ModelHealth
    monitor: HealthMonitor
    metrics: GatewayMetrics
    route_state: RouteState  # promotions from the database, re-read every few seconds
    _principals: dict[tuple[str, str, str], PrincipalView] = field(default_factory=dict)

    def principal(self, key: KeyInfo) -> PrincipalView:
        """The policy's view of a caller, built once per (key, team, role)."""
        cache_key = (key.key_id, key.team, key.role)
        view = self._principals.get(cache_key)
        if view is None:
            view = principal_view(
                self.loaded.config, self.views.classes, key.key_id, key.team, key.role
            )
            self._principals[cache_key] = view
        return view

    async def start(self) -> None:
        for provider in self.providers.values():
            await provider.start()
        self.writer.start()
        self.monitor.start()

    async def close(self) -> None:
        await self.monitor.stop()
        await self.writer.close()
        for provider in self.providers.values():
            await provider.aclose()
        self.db.dispose()


def build_services(
    loaded: LoadedConfig, db: Database, *, instance_id: str | None = None
) -> GatewayServices:
    config = loaded.config
    views = build_views(config)
    registry = ProviderRegistry()
    providers = {
        model_id: registry.build(model_id, model, resolve_secret)
        for model_id, model in config.models.items()
    }
    classifier = Classifier(
        load_detectors(config), views.classes, budget=config.server.detection_timeout_ms / 1000
    )
    guards = ModelGuards(config.models)
    health = ModelHealth(guards)
    writer = AuditWriter(db, batch_max=config.audit.batch_max)
    return GatewayServices(
        loaded=loaded,
        db=db,
        views=views,
        classifier=classifier,
        transformer=RequestTransformer(classifier),
        injection=InjectionScorer.load(),
        providers=providers,
        authenticator=Authenticator(KeyRepository(db), ttl=config.server.auth_cache_seconds),
        writer=writer,
        instance_id=instance_id
        or config.server.instance_id
        or f"{socket.gethostname()}:{os.getpid()}",
        guards=guards,
        health=health,
        monitor=HealthMonitor(config, providers, health),
        metrics=GatewayMetrics(guards, health, lambda: writer.healthy),
        route_state=RouteState(RouteRepository(db), views),
    )
