"""Properties of ``decide`` over generated configs, principals, classes and health states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import event, given, settings, strategies as st

from zonegate.config.schema import DEFAULT_DETECTORS, Config
from zonegate.errors import UpstreamError
from zonegate.policy.decide import decide
from zonegate.policy.types import (
    Allow,
    CandidateVerdict,
    Decision,
    Deny,
    PolicyInput,
    PrincipalView,
)
from zonegate.policy.views import PolicyViews, build_views, principal_view, route_for

REGIONS = ["eu", "us"]
PURPOSES = ["a", "b"]


@dataclass(frozen=True)
class Scenario:
    views: PolicyViews
    principal: PrincipalView
    route: str
    purpose: str | None
    unhealthy: frozenset[str]

    def decide(self, rank: int) -> Decision:
        return decide(
            PolicyInput(self.principal, self.route, rank, self.purpose, self.unhealthy), self.views
        )


def _subset_or_all(draw: st.DrawFn, names: list[str]) -> list[str]:
    if draw(st.booleans()):
        return ["*"]
    return draw(st.lists(st.sampled_from(names), unique=True))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    classes = [f"c{i}" for i in range(draw(st.integers(1, 4)))]
    zones = {
        f"z{i}": {
            "ceiling": draw(st.sampled_from(classes)),
            "region": draw(st.sampled_from([*REGIONS, None])),
        }
        for i in range(draw(st.integers(1, 4)))
    }
    models = {
        f"m{i}": {"zone": draw(st.sampled_from(sorted(zones))), "provider": {"type": "llamacpp"}}
        for i in range(draw(st.integers(1, 5)))
    }
    routes: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 3))):
        route: dict[str, Any] = {
            "candidates": draw(st.lists(st.sampled_from(sorted(models)), min_size=1, unique=True))
        }
        if draw(st.booleans()):
            route["jurisdictions"] = draw(st.lists(st.sampled_from(REGIONS), unique=True))
        if draw(st.booleans()):
            route["purposes"] = draw(st.lists(st.sampled_from(PURPOSES), min_size=1, unique=True))
        routes[f"r{i}"] = route
    team: dict[str, Any] = {
        "routes": _subset_or_all(draw, sorted(routes)),
        "models": _subset_or_all(draw, sorted(models)),
        "clearance": draw(st.none() | st.sampled_from(classes)),
        "purposes": _subset_or_all(draw, PURPOSES),
        "jurisdictions": draw(st.none() | st.lists(st.sampled_from(REGIONS), unique=True)),
    }
    config = Config.model_validate(
        {
            "data_classes": classes,
            "zones": zones,
            "models": models,
            "routes": routes,
            "teams": {"t": team},
            "detectors": {name: {"enabled": False} for name in DEFAULT_DETECTORS},
        }
    )
    views = build_views(config)
    return Scenario(
        views=views,
        principal=principal_view(config, views.classes, "key", "t"),
        route=draw(st.sampled_from([*sorted(routes), *sorted(models), "missing"])),
        purpose=draw(st.none() | st.sampled_from([*PURPOSES, "other"])),
        unhealthy=frozenset(draw(st.lists(st.sampled_from(sorted(models)), unique=True))),
    )


def permitted(decision: Decision) -> set[str]:
    """Candidates the policy let through its ceiling and jurisdiction checks."""
    ok = (CandidateVerdict.KEPT, CandidateVerdict.UNHEALTHY)
    return {c.model_id for c in decision.candidates if c.verdict in ok}


def served(decision: Decision) -> list[str]:
    return [decision.model_id, *decision.fallbacks] if isinstance(decision, Allow) else []


@settings(max_examples=300)
@given(scenarios(), st.data())
def test_raising_the_class_never_widens_the_permitted_set(s: Scenario, data: st.DataObject) -> None:
    top = len(s.views.classes) - 1
    low = data.draw(st.integers(0, top))
    high = data.draw(st.integers(low, top))
    at_low, at_high = s.decide(low), s.decide(high)
    assert permitted(at_high) <= permitted(at_low)
    assert set(served(at_high)) <= set(served(at_low))
    if isinstance(at_high, Allow):
        assert isinstance(at_low, Allow)


@settings(max_examples=300)
@given(scenarios(), st.data())
def test_every_model_in_an_allow_is_a_permitted_route_candidate(
    s: Scenario, data: st.DataObject
) -> None:
    rank = data.draw(st.integers(0, len(s.views.classes) - 1))
    decision = s.decide(rank)
    if not isinstance(decision, Allow):
        return
    route = route_for(s.views, s.route)
    assert route is not None
    models = served(decision)
    assert len(set(models)) == len(models)
    # In route order, skipping only dropped or unhealthy candidates.
    assert models == [m for m in route.candidates if m in models]
    for model_id in models:
        zone = s.views.models[model_id].zone
        assert zone.ceiling_rank >= rank
        assert model_id not in s.unhealthy
        for allowed in (route.jurisdictions, s.principal.jurisdictions):
            assert allowed is None or zone.region in allowed
    assert rank <= s.principal.clearance_rank
    kept = [c.model_id for c in decision.candidates if c.verdict is CandidateVerdict.KEPT]
    assert kept == models


@dataclass
class RecordingProviders:
    """Stands in for the provider registry: records each call; listed models fail."""

    failing: frozenset[str]
    calls: list[str] = field(default_factory=list)

    def call(self, model_id: str, prompt: str) -> str:
        self.calls.append(model_id)
        if model_id in self.failing:
            raise UpstreamError(f"{model_id} is down")
        return f"{model_id}: {prompt}"


def route_and_call(
    inp: PolicyInput, views: PolicyViews, providers: RecordingProviders, prompt: str
) -> Deny | str:
    """The request path in miniature: decide, then try the chosen model and its fallbacks."""
    decision = decide(inp, views)
    if isinstance(decision, Deny):
        return decision
    for model_id in (decision.model_id, *decision.fallbacks):
        try:
            return providers.call(model_id, prompt)
        except UpstreamError:
            continue
    raise UpstreamError("every permitted model failed")


@settings(max_examples=300)
@given(scenarios(), st.data())
def test_a_denial_never_calls_a_provider_and_calls_stay_permitted(
    s: Scenario, data: st.DataObject
) -> None:
    rank = data.draw(st.integers(0, len(s.views.classes) - 1))
    failing = frozenset(data.draw(st.lists(st.sampled_from(sorted(s.views.models)))))
    providers = RecordingProviders(failing)
    inp = PolicyInput(s.principal, s.route, rank, s.purpose, s.unhealthy)
    try:
        result = route_and_call(inp, s.views, providers, "hello")
    except UpstreamError:
        result = None
    decision = decide(inp, s.views)
    event(decision.reason if isinstance(decision, Deny) else "allow")
    if isinstance(decision, Deny):
        assert result == decision
        assert providers.calls == []
        return
    assert providers.calls
    assert set(providers.calls) <= set(served(decision))
    for model_id in providers.calls:
        assert s.views.models[model_id].zone.ceiling_rank >= rank
    if result is not None:
        assert result == f"{providers.calls[-1]}: hello"
