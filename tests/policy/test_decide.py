"""Every branch of ``decide``, one scenario each, with the reason and the message checked."""

from __future__ import annotations

import pytest

from tests.policy.factories import (
    CONFIDENTIAL,
    INTERNAL,
    PUBLIC,
    RESTRICTED,
    config,
    principal,
)
from zonegate.policy.decide import decide
from zonegate.policy.types import (
    Allow,
    CandidateVerdict,
    Decision,
    Deny,
    PolicyInput,
    PrincipalView,
    Reason,
)
from zonegate.policy.views import build_views

VIEWS = build_views(config())
V = CandidateVerdict


def run(
    route: str,
    rank: int = PUBLIC,
    *,
    who: PrincipalView | None = None,
    purpose: str | None = None,
    unhealthy: frozenset[str] = frozenset(),
) -> Decision:
    return decide(PolicyInput(who or principal(), route, rank, purpose, unhealthy), VIEWS)


def denied(decision: Decision, reason: Reason) -> Deny:
    assert isinstance(decision, Deny), decision
    assert decision.reason is reason
    return decision


def verdicts(decision: Decision) -> list[tuple[str, CandidateVerdict]]:
    return [(c.model_id, c.verdict) for c in decision.candidates]


# --- checks before the candidates -----------------------------------------------------------


def test_unknown_route() -> None:
    deny = denied(run("nope"), Reason.UNKNOWN_ROUTE)
    assert "no route or model named 'nope'" in deny.message
    assert deny.candidates == ()


@pytest.mark.parametrize("rank", [-1, 4])
def test_a_rank_outside_the_classes_is_denied(rank: int) -> None:
    deny = denied(run("assistant", rank), Reason.UNKNOWN_DATA_CLASS)
    assert "public, internal, confidential, restricted" in deny.message


def test_route_not_granted_to_the_team() -> None:
    who = principal(routes=frozenset({"vendors"}))
    deny = denied(run("assistant", who=who), Reason.ROUTE_NOT_ALLOWED)
    assert "team 'support' may not use route 'assistant'" in deny.message
    assert "(vendors)" in deny.message
    assert "teams.support.routes" in deny.message


def test_route_denied_to_a_team_with_no_routes() -> None:
    deny = denied(run("assistant", who=principal(routes=frozenset())), Reason.ROUTE_NOT_ALLOWED)
    assert "(none)" in deny.message


def test_route_granted_by_name_or_wildcard() -> None:
    assert isinstance(run("assistant", who=principal(routes=frozenset({"assistant"}))), Allow)
    assert isinstance(run("assistant", who=principal(routes=frozenset({"*"}))), Allow)


def test_route_grant_does_not_grant_direct_model_access() -> None:
    who = principal(routes=frozenset({"*"}), models=frozenset({"local-m"}))
    deny = denied(run("eu-m", who=who), Reason.MODEL_NOT_ALLOWED)
    assert "may not call model 'eu-m' directly" in deny.message
    assert "teams.support.models" in deny.message


def test_direct_model_access_by_name_or_wildcard() -> None:
    by_name = run("eu-m", who=principal(routes=frozenset(), models=frozenset({"eu-m"})))
    assert by_name == Allow("eu-m", (), by_name.candidates)
    assert isinstance(run("eu-m", who=principal(models=frozenset({"*"}))), Allow)


def test_clearance_exceeded() -> None:
    deny = denied(
        run("assistant", RESTRICTED, who=principal(clearance=INTERNAL)), Reason.CLEARANCE_EXCEEDED
    )
    assert "'restricted' exceeds team 'support''s clearance 'internal'" in deny.message
    assert deny.candidates == ()


def test_clearance_equal_to_the_class_passes() -> None:
    assert isinstance(run("assistant", INTERNAL, who=principal(clearance=INTERNAL)), Allow)


def test_the_principal_check_comes_before_clearance() -> None:
    who = principal(routes=frozenset(), clearance=PUBLIC)
    denied(run("assistant", RESTRICTED, who=who), Reason.ROUTE_NOT_ALLOWED)


# --- purposes ---------------------------------------------------------------------------------


def test_route_without_purposes_accepts_any_or_no_purpose() -> None:
    who = principal(purposes=frozenset({"triage"}))
    assert isinstance(run("assistant", who=who), Allow)
    assert isinstance(run("assistant", who=who, purpose="anything"), Allow)


def test_route_with_purposes_needs_one_declared() -> None:
    deny = denied(run("tickets"), Reason.PURPOSE_NOT_ALLOWED)
    assert "route 'tickets' requires a declared purpose" in deny.message
    assert "ticket-summary, triage" in deny.message


def test_purpose_outside_the_route() -> None:
    deny = denied(run("tickets", purpose="marketing"), Reason.PURPOSE_NOT_ALLOWED)
    assert "purpose 'marketing' is not allowed on route 'tickets'" in deny.message


def test_purpose_of_the_route_but_not_granted_to_the_team() -> None:
    who = principal(purposes=frozenset({"ticket-summary"}))
    deny = denied(run("tickets", who=who, purpose="triage"), Reason.PURPOSE_NOT_ALLOWED)
    assert "team 'support' may not declare purpose 'triage'" in deny.message
    assert "(its purposes: ticket-summary)" in deny.message


def test_team_with_no_purposes() -> None:
    deny = denied(
        run("tickets", who=principal(purposes=frozenset()), purpose="triage"),
        Reason.PURPOSE_NOT_ALLOWED,
    )
    assert "(its purposes: none)" in deny.message


@pytest.mark.parametrize("granted", [frozenset({"*"}), frozenset({"triage"})])
def test_purpose_allowed_by_route_and_team(granted: frozenset[str]) -> None:
    decision = run("tickets", who=principal(purposes=granted), purpose="triage")
    assert isinstance(decision, Allow)
    assert decision.model_id == "local-m"


# --- candidates -------------------------------------------------------------------------------


def test_all_candidates_kept_in_route_order() -> None:
    decision = run("assistant", PUBLIC)
    assert decision == Allow("us-m", ("eu-m", "local-m"), decision.candidates)
    assert verdicts(decision) == [("us-m", V.KEPT), ("eu-m", V.KEPT), ("local-m", V.KEPT)]
    assert decision.candidates[0].zone == "us-vendor"
    assert "may receive 'public'" in decision.candidates[0].detail


def test_low_ceilings_are_dropped_and_never_fallbacks() -> None:
    decision = run("assistant", CONFIDENTIAL)
    assert isinstance(decision, Allow)
    assert (decision.model_id, decision.fallbacks) == ("eu-m", ("local-m",))
    assert verdicts(decision)[0] == ("us-m", V.CEILING_TOO_LOW)
    assert (
        "ceiling 'internal', below the data class 'confidential'" in decision.candidates[0].detail
    )


def test_restricted_data_only_reaches_the_local_zone() -> None:
    decision = run("assistant", RESTRICTED)
    assert decision == Allow("local-m", (), decision.candidates)


def test_unhealthy_candidates_are_skipped() -> None:
    decision = run("assistant", PUBLIC, unhealthy=frozenset({"us-m", "local-m"}))
    assert decision == Allow("eu-m", (), decision.candidates)
    assert verdicts(decision) == [("us-m", V.UNHEALTHY), ("eu-m", V.KEPT), ("local-m", V.UNHEALTHY)]
    assert "marked unhealthy" in decision.candidates[0].detail


def test_route_jurisdictions_drop_other_regions_and_unknown_regions() -> None:
    decision = run("eu-route", PUBLIC)
    assert decision == Allow("eu-m", (), decision.candidates)
    assert verdicts(decision) == [
        ("us-m", V.JURISDICTION),
        ("nowhere-m", V.JURISDICTION),
        ("eu-m", V.KEPT),
    ]
    assert "region 'us'; route 'eu-route' allows only eu" in decision.candidates[0].detail
    assert "region None" in decision.candidates[1].detail


def test_team_jurisdictions_drop_other_regions_and_unknown_regions() -> None:
    config_views = build_views(
        config(routes={"all": {"candidates": ["nowhere-m", "us-m", "eu-m"]}})
    )
    who = principal(jurisdictions=frozenset({"eu"}))
    decision = decide(PolicyInput(who, "all", PUBLIC), config_views)
    assert decision == Allow("eu-m", (), decision.candidates)
    assert verdicts(decision)[:2] == [("nowhere-m", V.JURISDICTION), ("us-m", V.JURISDICTION)]
    assert "team 'support' allows only eu" in decision.candidates[1].detail


def test_ceiling_is_checked_before_jurisdiction() -> None:
    decision = run("eu-route", CONFIDENTIAL)
    assert verdicts(decision)[0] == ("us-m", V.CEILING_TOO_LOW)


# --- no model ---------------------------------------------------------------------------------


def test_data_class_exceeds_every_zone() -> None:
    deny = denied(run("vendors", RESTRICTED), Reason.DATA_CLASS_EXCEEDS_ZONES)
    assert deny.message.startswith(
        "the request's data class 'restricted' exceeds every zone route 'vendors' may use "
        "(highest ceiling: 'confidential'); remove the data or use a route"
    )
    assert "jurisdictions" not in deny.message
    assert verdicts(deny) == [("us-m", V.CEILING_TOO_LOW), ("eu-m", V.CEILING_TOO_LOW)]


def test_data_class_exceeds_zones_when_the_rest_are_out_of_jurisdiction() -> None:
    deny = denied(
        run("eu-route", RESTRICTED, who=principal(jurisdictions=frozenset({"us"}))),
        Reason.DATA_CLASS_EXCEEDS_ZONES,
    )
    assert "(highest ceiling: 'confidential')" in deny.message
    assert deny.message.endswith("its other candidates are outside the allowed jurisdictions")


def test_direct_model_below_the_data_class() -> None:
    deny = denied(run("us-m", CONFIDENTIAL), Reason.DATA_CLASS_EXCEEDS_ZONES)
    assert "every zone model 'us-m' may use (highest ceiling: 'internal')" in deny.message


def test_no_candidate_in_an_allowed_jurisdiction() -> None:
    deny = denied(
        run("us-only", PUBLIC, who=principal(jurisdictions=frozenset({"eu"}))),
        Reason.JURISDICTION_NOT_ALLOWED,
    )
    assert "no candidate of route 'us-only' runs in a jurisdiction" in deny.message
    assert verdicts(deny) == [("us-m", V.JURISDICTION)]


def test_every_permitted_model_unhealthy() -> None:
    deny = denied(
        run("assistant", CONFIDENTIAL, unhealthy=frozenset({"eu-m", "local-m"})),
        Reason.NO_HEALTHY_MODEL,
    )
    assert "unhealthy (eu-m, local-m); retry later" in deny.message
    assert verdicts(deny) == [
        ("us-m", V.CEILING_TOO_LOW),
        ("eu-m", V.UNHEALTHY),
        ("local-m", V.UNHEALTHY),
    ]


def test_an_unhealthy_model_that_is_not_permitted_stays_dropped_for_its_ceiling() -> None:
    deny = denied(
        run("us-only", RESTRICTED, unhealthy=frozenset({"us-m"})), Reason.DATA_CLASS_EXCEEDS_ZONES
    )
    assert verdicts(deny) == [("us-m", V.CEILING_TOO_LOW)]


def test_decide_is_deterministic() -> None:
    assert run("assistant", CONFIDENTIAL) == run("assistant", CONFIDENTIAL)
