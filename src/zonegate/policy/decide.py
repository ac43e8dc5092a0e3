"""The policy decision: which model, if any, a request's data may reach. Pure, no I/O.

Checks run in a fixed order (route, data class, principal, clearance, purpose, then each
candidate in route order), so the first failing check names the reason. Fallbacks come only from
the permitted set: a candidate dropped for its ceiling or jurisdiction is never a fallback.
"""

from __future__ import annotations

from zonegate.policy.classes import DataClasses
from zonegate.policy.types import (
    Allow,
    CandidateExplanation,
    CandidateVerdict,
    Decision,
    Deny,
    PolicyInput,
    PrincipalView,
    Reason,
    RouteView,
    ZoneView,
)
from zonegate.policy.views import PolicyViews

_CEILING = CandidateVerdict.CEILING_TOO_LOW
_JURISDICTION = CandidateVerdict.JURISDICTION
_UNHEALTHY = CandidateVerdict.UNHEALTHY
_INJECTION = CandidateVerdict.INJECTION
_KEPT = CandidateVerdict.KEPT


def _label(route: RouteView) -> str:
    return f"model {route.name!r}" if route.direct else f"route {route.name!r}"


def _listing(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


def transform_plan(
    zone: ZoneView,
    declared_rank: int | None,
    finding_ranks: frozenset[int],
    classes: DataClasses,
) -> tuple[tuple[str, str], ...] | None:
    """How the data must be transformed to go to ``zone`` when its class exceeds the ceiling:
    one (data class, action) per detected class above it; ``None`` when that is not allowed
    (a declared class above the ceiling, or a detected class without a transform there)."""
    ceiling = zone.ceiling_rank
    if declared_rank is not None and declared_rank > ceiling:
        return None
    above = sorted(r for r in finding_ranks if r > ceiling)
    plan: list[tuple[str, str]] = []
    for rank in above:
        action = zone.transforms.get(rank)
        if action is None:
            return None
        plan.append((classes.name(rank), action))
    return tuple(plan) or None


def evaluate_candidates(
    route: RouteView,
    principal: PrincipalView,
    effective_rank: int,
    unhealthy: frozenset[str],
    views: PolicyViews,
    *,
    declared_rank: int | None = None,
    finding_ranks: frozenset[int] = frozenset(),
    self_hosted_only: bool = False,
) -> tuple[CandidateExplanation, ...]:
    """Each candidate of ``route`` in order, kept or dropped, and why."""
    classes = views.classes
    route_regions = route.jurisdictions
    principal_regions = principal.jurisdictions
    out: list[CandidateExplanation] = []
    for model_id in route.candidates:
        zone = views.models[model_id].zone
        region = zone.region
        plan: tuple[tuple[str, str], ...] = ()
        if zone.ceiling_rank < effective_rank:
            transforms = transform_plan(zone, declared_rank, finding_ranks, classes)
            if transforms is None:
                verdict = _CEILING
                detail = (
                    f"zone {zone.name!r} has ceiling {classes.name(zone.ceiling_rank)!r}, below "
                    f"the data class {classes.name(effective_rank)!r}"
                )
                out.append(CandidateExplanation(model_id, zone.name, verdict, detail))
                continue
            plan = transforms
        if route_regions is not None and (region is None or region not in route_regions):
            verdict = _JURISDICTION
            detail = (
                f"zone {zone.name!r} is in region {region!r}; {_label(route)} allows only "
                f"{_listing(route_regions)}"
            )
        elif principal_regions is not None and (region is None or region not in principal_regions):
            verdict = _JURISDICTION
            detail = (
                f"zone {zone.name!r} is in region {region!r}; team {principal.team!r} allows "
                f"only {_listing(principal_regions)}"
            )
        elif self_hosted_only and zone.operator != "self":
            verdict = _INJECTION
            detail = (
                f"zone {zone.name!r} is operated by {zone.operator!r}; a request that looks like "
                "a prompt injection may only be served by a self-hosted zone"
            )
        elif model_id in unhealthy:
            verdict = _UNHEALTHY
            detail = f"permitted, but {model_id!r} is marked unhealthy"
        else:
            verdict = _KEPT
            detail = (
                f"zone {zone.name!r} (ceiling {classes.name(zone.ceiling_rank)!r}) may receive "
                f"{classes.name(effective_rank)!r}"
            )
            if plan:
                detail += " after it is transformed: " + ", ".join(
                    f"{action} {cls}" for cls, action in plan
                )
        out.append(CandidateExplanation(model_id, zone.name, verdict, detail, plan))
    return tuple(out)


def _principal_denial(route: RouteView, principal: PrincipalView) -> Deny | None:
    if route.direct:
        if "*" in principal.models or route.name in principal.models:
            return None
        return Deny(
            Reason.MODEL_NOT_ALLOWED,
            f"team {principal.team!r} may not call model {route.name!r} directly; ask for a "
            f"route instead, or have an administrator add the model to "
            f"teams.{principal.team}.models",
        )
    if "*" in principal.routes or route.name in principal.routes:
        return None
    return Deny(
        Reason.ROUTE_NOT_ALLOWED,
        f"team {principal.team!r} may not use route {route.name!r}; ask for one of its routes "
        f"({_listing(principal.routes) or 'none'}) or have an administrator add it to "
        f"teams.{principal.team}.routes",
    )


def _purpose_denial(route: RouteView, principal: PrincipalView, purpose: str | None) -> Deny | None:
    allowed = route.purposes
    if allowed is None:
        return None
    if purpose is None:
        return Deny(
            Reason.PURPOSE_NOT_ALLOWED,
            f"{_label(route)} requires a declared purpose; declare one of: {_listing(allowed)}",
        )
    if purpose not in allowed:
        return Deny(
            Reason.PURPOSE_NOT_ALLOWED,
            f"purpose {purpose!r} is not allowed on {_label(route)}; declare one of: "
            f"{_listing(allowed)}",
        )
    if "*" not in principal.purposes and purpose not in principal.purposes:
        return Deny(
            Reason.PURPOSE_NOT_ALLOWED,
            f"team {principal.team!r} may not declare purpose {purpose!r} (its purposes: "
            f"{_listing(principal.purposes) or 'none'}); have an administrator add it to "
            f"teams.{principal.team}.purposes",
        )
    return None


def _no_permitted(
    route: RouteView,
    candidates: tuple[CandidateExplanation, ...],
    effective_rank: int,
    views: PolicyViews,
) -> Deny:
    classes: DataClasses = views.classes
    ceilings = [
        views.models[c.model_id].zone.ceiling_rank for c in candidates if c.verdict is _CEILING
    ]
    label = _label(route)
    if ceilings:
        data_class = classes.name(effective_rank)
        message = (
            f"the request's data class {data_class!r} exceeds every zone {label} may use "
            f"(highest ceiling: {classes.name(max(ceilings))!r}); remove the data or use a route "
            f"with a model in a zone cleared for {data_class!r}, such as an on-premises model"
        )
        if len(ceilings) < len(candidates):
            message += "; its other candidates are outside the allowed jurisdictions"
        return Deny(Reason.DATA_CLASS_EXCEEDS_ZONES, message, candidates)
    return Deny(
        Reason.JURISDICTION_NOT_ALLOWED,
        f"no candidate of {label} runs in a jurisdiction that the route and the caller's team "
        "both allow; use a route with a model in an allowed region",
        candidates,
    )


def decide(inp: PolicyInput, views: PolicyViews) -> Decision:
    """Allow (first healthy permitted candidate, then the other healthy permitted) or Deny."""
    name = inp.route_name
    route = views.routes.get(name) or views.direct.get(name)
    if route is None:
        return Deny(
            Reason.UNKNOWN_ROUTE,
            f"there is no route or model named {name!r}; ask for a configured route "
            "(GET /v1/models lists those you may use)",
        )
    rank = inp.effective_rank
    if not 0 <= rank < len(views.classes):
        return Deny(
            Reason.UNKNOWN_DATA_CLASS,
            f"data class rank {rank} is not configured; use one of "
            f"{', '.join(views.classes.names)}",
        )
    principal = inp.principal
    denial = _principal_denial(route, principal)
    if denial is not None:
        return denial
    if rank > principal.clearance_rank:
        classes = views.classes
        return Deny(
            Reason.CLEARANCE_EXCEEDED,
            f"the request's data class {classes.name(rank)!r} exceeds team "
            f"{principal.team!r}'s clearance {classes.name(principal.clearance_rank)!r}; remove "
            "the sensitive data or send it with a key whose team is cleared for it",
        )
    denial = _purpose_denial(route, principal, inp.purpose)
    if denial is not None:
        return denial
    suspected = inp.injection_suspected
    if suspected and route.injection_action == "block":
        return Deny(
            Reason.PROMPT_INJECTION,
            f"the request looks like a prompt injection or jailbreak, which {_label(route)} "
            "refuses; remove the instructions aimed at the model (the audit record has the "
            "verdict and the rules that matched)",
        )
    candidates = evaluate_candidates(
        route,
        principal,
        rank,
        inp.unhealthy,
        views,
        declared_rank=inp.declared_rank,
        finding_ranks=inp.finding_ranks,
        self_hosted_only=suspected and route.injection_action == "self_hosted_only",
    )
    healthy = [c.model_id for c in candidates if c.verdict is _KEPT]
    if healthy:
        return Allow(healthy[0], tuple(healthy[1:]), candidates)
    if any(c.verdict is _UNHEALTHY for c in candidates):
        down = ", ".join(c.model_id for c in candidates if c.verdict is _UNHEALTHY)
        return Deny(
            Reason.NO_HEALTHY_MODEL,
            f"every model {_label(route)} may use for this request is unhealthy ({down}); "
            "retry later",
            candidates,
        )
    if any(c.verdict is _INJECTION for c in candidates):
        return Deny(
            Reason.PROMPT_INJECTION,
            f"the request looks like a prompt injection or jailbreak, so {_label(route)} may "
            "serve it only from a self-hosted zone, and none of its permitted candidates is "
            "self-hosted",
            candidates,
        )
    return _no_permitted(route, candidates, rank, views)
