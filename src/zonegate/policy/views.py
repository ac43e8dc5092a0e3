"""The policy's precomputed view of a config: plain frozen values, built once per config.

``decide`` runs on every request, so everything it needs (ranks instead of class names, frozensets
instead of lists, one ``RouteView`` per directly addressable model) is computed here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from zonegate.config.schema import Config
from zonegate.errors import PermissionDenied
from zonegate.policy.classes import DataClasses
from zonegate.policy.types import ModelView, PrincipalView, RouteView, ZoneView


def _frozen(items: list[str] | None) -> frozenset[str] | None:
    return None if items is None else frozenset(items)


@dataclass(frozen=True, slots=True)
class PolicyViews:
    """Zones, models and routes as ``decide`` needs them."""

    classes: DataClasses
    zones: Mapping[str, ZoneView]
    models: Mapping[str, ModelView]
    routes: Mapping[str, RouteView]
    direct: Mapping[str, RouteView] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        direct = {
            model_id: RouteView(name=model_id, candidates=(model_id,), direct=True)
            for model_id in self.models
        }
        object.__setattr__(self, "direct", MappingProxyType(direct))


def build_views(config: Config) -> PolicyViews:
    """The policy's view of ``config`` (which the schema has already cross-checked)."""
    classes = DataClasses(config.data_classes)
    zones = {
        name: ZoneView(
            name=name,
            ceiling_rank=classes.rank(zone.ceiling),
            region=zone.region,
            operator=zone.operator,
            transforms=MappingProxyType(
                {classes.rank(cls): action for cls, action in zone.transforms.items()}
            ),
        )
        for name, zone in config.zones.items()
    }
    models = {
        model_id: ModelView(model_id=model_id, zone=zones[model.zone])
        for model_id, model in config.models.items()
    }
    routes = {
        name: RouteView(
            name=name,
            candidates=tuple(route.candidates),
            jurisdictions=_frozen(route.jurisdictions),
            purposes=_frozen(route.purposes),
            injection_action=route.injection.action,
        )
        for name, route in config.routes.items()
    }
    return PolicyViews(
        classes=classes,
        zones=MappingProxyType(zones),
        models=MappingProxyType(models),
        routes=MappingProxyType(routes),
    )


def with_preferred(views: PolicyViews, preferred: Mapping[str, str]) -> PolicyViews:
    """``views`` with each route's ``preferred[route]`` moved to the front of its candidates.

    How a promotion reaches ``decide`` without making it read anything: the order changes, the
    permitted set never does. A route or model not in ``views`` (the config changed since the
    promotion) is ignored, so a promotion can never add a candidate.
    """
    routes = dict(views.routes)
    for name, model_id in preferred.items():
        route = routes.get(name)
        if route is None or model_id not in route.candidates or route.candidates[0] == model_id:
            continue
        rest = tuple(c for c in route.candidates if c != model_id)
        routes[name] = replace(route, candidates=(model_id, *rest))
    return replace(views, routes=MappingProxyType(routes))


def principal_view(
    config: Config,
    classes: DataClasses,
    principal_id: str,
    team: str,
    role: str = "user",
) -> PrincipalView:
    """What a principal of ``team`` may do; ``PermissionDenied`` if the team is not configured."""
    team_config = config.teams.get(team)
    if team_config is None:
        raise PermissionDenied(
            f"team {team!r} is not defined in the gateway config (known: "
            f"{', '.join(sorted(config.teams)) or 'none'}); add it under 'teams' or use a "
            "defined team",
            code="unknown_team",
        )
    clearance = (
        classes.highest_rank
        if team_config.clearance is None
        else classes.rank(team_config.clearance)
    )
    return PrincipalView(
        principal_id=principal_id,
        team=team,
        routes=frozenset(team_config.routes),
        models=frozenset(team_config.models),
        clearance_rank=clearance,
        purposes=frozenset(team_config.purposes),
        jurisdictions=_frozen(team_config.jurisdictions),
        role=role,
    )


def route_for(views: PolicyViews, name: str) -> RouteView | None:
    """The configured route ``name``, else a direct route to the model ``name``, else ``None``."""
    route = views.routes.get(name)
    if route is None:
        route = views.direct.get(name)
    return route
