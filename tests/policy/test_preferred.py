"""A promotion reaches ``decide`` as views with the promoted model first: the order changes, the
permitted set and every other check do not."""

from __future__ import annotations

from tests.policy.factories import CONFIDENTIAL, PUBLIC, config, principal
from zonegate.policy.decide import decide
from zonegate.policy.types import Allow, CandidateVerdict, Deny, PolicyInput, Reason
from zonegate.policy.views import build_views, with_preferred

VIEWS = build_views(config())


def test_the_preferred_model_moves_first_and_the_rest_keep_their_order() -> None:
    views = with_preferred(VIEWS, {"assistant": "local-m"})
    assert views.routes["assistant"].candidates == ("local-m", "us-m", "eu-m")
    assert views.routes["vendors"] is VIEWS.routes["vendors"]
    assert VIEWS.routes["assistant"].candidates == ("us-m", "eu-m", "local-m")  # unchanged
    assert views.routes["assistant"].jurisdictions == VIEWS.routes["assistant"].jurisdictions
    assert views.direct == VIEWS.direct


def test_a_preference_can_never_add_a_model_or_a_route() -> None:
    views = with_preferred(VIEWS, {"us-only": "local-m", "ghost-route": "us-m"})
    assert views.routes["us-only"].candidates == ("us-m",)
    assert "ghost-route" not in views.routes
    assert with_preferred(VIEWS, {}).routes == VIEWS.routes


def test_decide_serves_the_promoted_model_first_with_the_others_as_fallbacks() -> None:
    views = with_preferred(VIEWS, {"assistant": "eu-m"})
    decision = decide(PolicyInput(principal(), "assistant", PUBLIC), views)
    assert isinstance(decision, Allow)
    assert (decision.model_id, decision.fallbacks) == ("eu-m", ("us-m", "local-m"))


def test_the_policy_still_drops_a_promoted_model_the_data_may_not_reach() -> None:
    views = with_preferred(VIEWS, {"assistant": "us-m", "vendors": "us-m"})
    decision = decide(PolicyInput(principal(), "assistant", CONFIDENTIAL), views)
    assert isinstance(decision, Allow)
    assert decision.model_id == "eu-m"
    assert decision.candidates[0].model_id == "us-m"
    assert decision.candidates[0].verdict is CandidateVerdict.CEILING_TOO_LOW
    promoted_eu = with_preferred(VIEWS, {"us-only": "us-m"})
    denied = decide(PolicyInput(principal(), "us-only", CONFIDENTIAL), promoted_eu)
    assert isinstance(denied, Deny)
    assert denied.reason is Reason.DATA_CLASS_EXCEEDS_ZONES
