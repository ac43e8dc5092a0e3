"""Zones that may receive data above their ceiling once it is redacted or pseudonymised."""

from __future__ import annotations

from typing import Any

from tests.policy.factories import CONFIDENTIAL, INTERNAL, PUBLIC, RESTRICTED, config, principal
from zonegate.policy.decide import decide
from zonegate.policy.types import Allow, CandidateVerdict, Decision, Deny, PolicyInput, Reason
from zonegate.policy.views import build_views

# us-vendor (ceiling internal) takes confidential data pseudonymised and restricted data redacted;
# eu-vendor (ceiling confidential) takes nothing above its ceiling.
ZONES: dict[str, Any] = {
    "local": {"ceiling": "restricted", "region": "eu"},
    "eu-vendor": {"ceiling": "confidential", "operator": "acme", "region": "eu"},
    "us-vendor": {
        "ceiling": "internal",
        "operator": "acme",
        "region": "us",
        "transforms": {"confidential": "pseudonymise", "restricted": "redact"},
    },
    "nowhere": {"ceiling": "restricted"},
}
VIEWS = build_views(config(zones=ZONES))


def run(
    route: str,
    *,
    found: set[int],
    declared: int | None = None,
    unhealthy: frozenset[str] = frozenset(),
) -> Decision:
    effective = max([*found, declared if declared is not None else PUBLIC])
    return decide(
        PolicyInput(
            principal(),
            route,
            effective,
            unhealthy=unhealthy,
            declared_rank=declared,
            finding_ranks=frozenset(found),
        ),
        VIEWS,
    )


def plan_of(decision: Decision, model_id: str) -> tuple[tuple[str, str], ...]:
    [candidate] = [c for c in decision.candidates if c.model_id == model_id]
    assert candidate.verdict is CandidateVerdict.KEPT
    return candidate.transforms


def test_detected_data_above_the_ceiling_goes_transformed() -> None:
    decision = run("assistant", found={CONFIDENTIAL})
    assert isinstance(decision, Allow)
    assert decision.model_id == "us-m"
    assert plan_of(decision, "us-m") == (("confidential", "pseudonymise"),)
    assert plan_of(decision, "eu-m") == ()  # within its ceiling: sent as it is
    assert "after it is transformed: pseudonymise confidential" in decision.candidates[0].detail


def test_every_class_above_the_ceiling_gets_its_own_action() -> None:
    decision = run("us-only", found={INTERNAL, CONFIDENTIAL, RESTRICTED})
    assert isinstance(decision, Allow)
    assert plan_of(decision, "us-m") == (("confidential", "pseudonymise"), ("restricted", "redact"))


def test_a_class_without_a_transform_drops_the_zone() -> None:
    decision = run("vendors", found={RESTRICTED})
    assert isinstance(decision, Allow)
    assert decision.model_id == "us-m"  # us-vendor redacts; eu-vendor has no transform
    [_us, eu] = decision.candidates
    assert eu.verdict is CandidateVerdict.CEILING_TOO_LOW


def test_a_declared_class_above_the_ceiling_cannot_be_transformed_away() -> None:
    decision = run("us-only", found={CONFIDENTIAL}, declared=CONFIDENTIAL)
    assert isinstance(decision, Deny)
    assert decision.reason is Reason.DATA_CLASS_EXCEEDS_ZONES


def test_an_effective_class_with_no_findings_behind_it_is_not_transformable() -> None:
    decision = decide(PolicyInput(principal(), "us-only", CONFIDENTIAL), VIEWS)
    assert isinstance(decision, Deny)
    assert decision.reason is Reason.DATA_CLASS_EXCEEDS_ZONES


def test_transformed_candidates_still_obey_health() -> None:
    decision = run("us-only", found={CONFIDENTIAL}, unhealthy=frozenset({"us-m"}))
    assert isinstance(decision, Deny)
    assert decision.reason is Reason.NO_HEALTHY_MODEL
