from __future__ import annotations

import dataclasses

import pytest

from tests.policy.factories import CONFIDENTIAL, INTERNAL, RESTRICTED, config
from zonegate.errors import PermissionDenied
from zonegate.policy.classes import DataClasses
from zonegate.policy.types import ModelView, RouteView, ZoneView
from zonegate.policy.views import PolicyViews, build_views, principal_view, route_for


def test_build_views_turns_names_into_ranks_and_sets() -> None:
    views = build_views(config())
    assert views.classes == DataClasses(["public", "internal", "confidential", "restricted"])
    assert views.zones["us-vendor"] == ZoneView("us-vendor", INTERNAL, "us", "acme")
    assert views.zones["nowhere"].region is None
    assert views.models["eu-m"] == ModelView(
        "eu-m", ZoneView("eu-vendor", CONFIDENTIAL, "eu", "acme")
    )
    assert views.routes["assistant"] == RouteView("assistant", ("us-m", "eu-m", "local-m"))
    assert views.routes["eu-route"].jurisdictions == frozenset({"eu"})
    assert views.routes["tickets"].purposes == frozenset({"ticket-summary", "triage"})
    assert views.routes["assistant"].purposes is None


def test_views_are_immutable() -> None:
    views = build_views(config())
    with pytest.raises(dataclasses.FrozenInstanceError):
        views.routes = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        views.routes["x"] = views.routes["assistant"]  # type: ignore[index]


def test_route_for_prefers_routes_then_direct_models() -> None:
    views = build_views(config())
    assert route_for(views, "assistant") is views.routes["assistant"]
    direct = route_for(views, "eu-m")
    assert direct == RouteView("eu-m", ("eu-m",), direct=True)
    assert route_for(views, "nope") is None


def test_direct_routes_follow_the_models_of_hand_built_views() -> None:
    zone = ZoneView("z", 0, None, "self")
    views = PolicyViews(
        classes=DataClasses(["only"]),
        zones={"z": zone},
        models={"m": ModelView("m", zone)},
        routes={},
    )
    assert route_for(views, "m") == RouteView("m", ("m",), direct=True)


def test_principal_view_takes_the_team_grants() -> None:
    cfg = config(
        teams={
            "support": {
                "routes": ["assistant"],
                "models": ["local-m"],
                "clearance": "confidential",
                "purposes": ["triage"],
                "jurisdictions": ["eu"],
            }
        }
    )
    views = build_views(cfg)
    view = principal_view(cfg, views.classes, "key-9", "support", "admin")
    assert view.principal_id == "key-9"
    assert view.team == "support"
    assert view.role == "admin"
    assert view.routes == frozenset({"assistant"})
    assert view.models == frozenset({"local-m"})
    assert view.clearance_rank == CONFIDENTIAL
    assert view.purposes == frozenset({"triage"})
    assert view.jurisdictions == frozenset({"eu"})


def test_principal_view_defaults() -> None:
    cfg = config(teams={"default": {}})
    view = principal_view(cfg, build_views(cfg).classes, "k", "default")
    assert view.clearance_rank == RESTRICTED
    assert view.routes == frozenset()
    assert view.models == frozenset()
    assert view.purposes == frozenset({"*"})
    assert view.jurisdictions is None
    assert view.role == "user"


def test_principal_view_of_an_unknown_team_is_denied() -> None:
    cfg = config()
    with pytest.raises(PermissionDenied) as info:
        principal_view(cfg, build_views(cfg).classes, "k", "ghosts")
    assert info.value.code == "unknown_team"
    assert "'ghosts'" in info.value.message
    assert "known: default" in info.value.message


def test_unknown_team_message_when_no_team_is_configured() -> None:
    cfg = config(teams={})
    with pytest.raises(PermissionDenied, match="known: none"):
        principal_view(cfg, build_views(cfg).classes, "k", "default")
