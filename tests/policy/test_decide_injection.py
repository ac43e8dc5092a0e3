"""What a route does with a request that looks like a prompt injection."""

from __future__ import annotations

from typing import Any

from tests.policy.factories import INTERNAL, PUBLIC, RESTRICTED, config, principal
from zonegate.policy.decide import decide
from zonegate.policy.types import Allow, CandidateVerdict, Decision, Deny, PolicyInput, Reason
from zonegate.policy.views import build_views

ROUTES: dict[str, Any] = {
    "flagging": {"candidates": ["us-m", "local-m"]},
    "blocking": {"candidates": ["us-m", "local-m"], "injection": {"action": "block"}},
    "careful": {"candidates": ["us-m", "local-m"], "injection": {"action": "self_hosted_only"}},
    "vendors-careful": {"candidates": ["us-m"], "injection": {"action": "self_hosted_only"}},
}
ZONES: dict[str, Any] = {
    "local": {"ceiling": "restricted", "operator": "self"},
    "us-vendor": {"ceiling": "internal", "operator": "acme"},
    "eu-vendor": {"ceiling": "confidential", "operator": "acme"},
    "nowhere": {"ceiling": "restricted"},
}
VIEWS = build_views(config(routes=ROUTES, zones=ZONES))


def run(route: str, *, suspected: bool, rank: int = PUBLIC) -> Decision:
    return decide(PolicyInput(principal(), route, rank, injection_suspected=suspected), VIEWS)


def test_flag_serves_as_usual() -> None:
    decision = run("flagging", suspected=True)
    assert isinstance(decision, Allow)
    assert decision.model_id == "us-m"


def test_block_refuses_only_suspected_requests() -> None:
    decision = run("blocking", suspected=True)
    assert isinstance(decision, Deny)
    assert decision.reason is Reason.PROMPT_INJECTION
    assert "refuses" in decision.message
    assert isinstance(run("blocking", suspected=False), Allow)


def test_self_hosted_only_moves_the_request_to_a_self_hosted_zone() -> None:
    decision = run("careful", suspected=True)
    assert isinstance(decision, Allow)
    assert decision.model_id == "local-m"
    assert decision.fallbacks == ()
    assert decision.candidates[0].verdict is CandidateVerdict.INJECTION
    assert run("careful", suspected=False).model_id == "us-m"  # type: ignore[union-attr]


def test_self_hosted_only_without_a_self_hosted_candidate_is_denied() -> None:
    decision = run("vendors-careful", suspected=True)
    assert isinstance(decision, Deny)
    assert decision.reason is Reason.PROMPT_INJECTION
    assert "self-hosted" in decision.message


def test_the_ceiling_still_applies_to_self_hosted_candidates() -> None:
    decision = run("careful", suspected=True, rank=RESTRICTED)
    assert isinstance(decision, Allow)
    assert decision.model_id == "local-m"
    assert run("vendors-careful", suspected=False, rank=INTERNAL).model_id == "us-m"  # type: ignore[union-attr]
