from __future__ import annotations

import json

import pytest

from tests.policy.factories import config
from zonegate.errors import PermissionDenied, ServiceUnavailable
from zonegate.guards.base import Finding
from zonegate.guards.registry import load_detectors
from zonegate.policy.classes import UnknownDataClass
from zonegate.policy.explain import explain_request, render_text, to_json
from zonegate.policy.types import Allow, CandidateVerdict, Deny, Reason

CONFIG = config(
    teams={"default": {"routes": ["*"]}, "low": {"routes": ["*"], "clearance": "internal"}}
)
DETECTORS = load_detectors(CONFIG)
CARD = "4111 1111 1111 1111"


def test_a_card_number_keeps_the_request_off_vendor_zones() -> None:
    e = explain_request(
        CONFIG, f"refund card {CARD} please", route="assistant", team="default", detectors=DETECTORS
    )
    assert e.texts_scanned == 1
    (finding,) = e.findings
    assert (finding.type, finding.data_class, finding.count, finding.spans) == (
        "payment_card",
        "restricted",
        1,
        ((0, 12, 31),),
    )
    assert (e.declared_class, e.detected_class, e.effective_class) == (
        None,
        "restricted",
        "restricted",
    )
    assert e.decision == Allow("local-m", (), e.candidates)
    assert e.allowed
    assert e.candidates_reached
    assert [c.verdict for c in e.candidates] == [
        CandidateVerdict.CEILING_TOO_LOW,
        CandidateVerdict.CEILING_TOO_LOW,
        CandidateVerdict.KEPT,
    ]


def test_denied_when_no_zone_may_receive_the_class() -> None:
    e = explain_request(
        CONFIG, [f"card {CARD}"], route="vendors", team="default", detectors=DETECTORS
    )
    assert isinstance(e.decision, Deny)
    assert e.decision.reason is Reason.DATA_CLASS_EXCEEDS_ZONES
    assert not e.allowed


def test_a_request_body_is_classified_like_the_gateway_does() -> None:
    body = {
        "model": "assistant",
        "messages": [
            {"role": "system", "content": "mail ops@example.com"},
            {"role": "user", "content": "hi", "name": "x"},
        ],
    }
    e = explain_request(CONFIG, body, route="assistant", team="default", detectors=DETECTORS)
    assert e.texts_scanned == 5
    assert [(f.type, f.count, f.spans) for f in e.findings] == [("email", 1, ((1, 5, 20),))]
    assert e.effective_class == "confidential"
    assert e.decision == Allow("eu-m", ("local-m",), e.candidates)


def test_a_declared_class_raises_the_effective_class_and_never_lowers_it() -> None:
    raised = explain_request(
        CONFIG,
        "hello",
        route="assistant",
        team="default",
        declared_class="confidential",
        detectors=DETECTORS,
    )
    assert (raised.detected_class, raised.effective_class) == (None, "confidential")
    kept = explain_request(
        CONFIG,
        f"card {CARD}",
        route="assistant",
        team="default",
        declared_class="public",
        detectors=DETECTORS,
    )
    assert kept.effective_class == "restricted"


def test_no_text_is_public() -> None:
    e = explain_request(CONFIG, [], route="assistant", team="default", detectors=DETECTORS)
    assert (e.findings, e.detected_class, e.effective_class) == ((), None, "public")


def test_an_early_denial_still_shows_each_candidate_as_not_reached() -> None:
    e = explain_request(CONFIG, f"card {CARD}", route="assistant", team="low", detectors=DETECTORS)
    assert isinstance(e.decision, Deny)
    assert e.decision.reason is Reason.CLEARANCE_EXCEEDED
    assert e.decision.candidates == ()
    assert not e.candidates_reached
    assert [c.model_id for c in e.candidates] == ["us-m", "eu-m", "local-m"]


def test_an_unknown_route_has_no_candidates() -> None:
    e = explain_request(CONFIG, "hi", route="nope", team="default", detectors=DETECTORS)
    assert isinstance(e.decision, Deny)
    assert e.decision.reason is Reason.UNKNOWN_ROUTE
    assert e.candidates == ()
    assert "candidates" not in render_text(e)


def test_purpose_is_passed_to_the_policy() -> None:
    denied = explain_request(CONFIG, "hi", route="tickets", team="default", detectors=DETECTORS)
    assert isinstance(denied.decision, Deny)
    allowed = explain_request(
        CONFIG, "hi", route="tickets", team="default", purpose="triage", detectors=DETECTORS
    )
    assert allowed.allowed
    assert allowed.purpose == "triage"


def test_errors_are_the_gateway_errors() -> None:
    with pytest.raises(UnknownDataClass):
        explain_request(
            CONFIG,
            "hi",
            route="assistant",
            team="default",
            declared_class="secret",
            detectors=DETECTORS,
        )
    with pytest.raises(PermissionDenied):
        explain_request(CONFIG, "hi", route="assistant", team="ghosts", detectors=DETECTORS)

    class Broken:
        type = "broken"

        def detect(self, text: str) -> list[Finding]:
            raise RuntimeError

    with pytest.raises(ServiceUnavailable):
        explain_request(CONFIG, "hi", route="assistant", team="default", detectors=[Broken()])


def test_json_and_text_renderings_hold_no_values() -> None:
    e = explain_request(
        CONFIG,
        f"card {CARD} mail a@example.com",
        route="assistant",
        team="default",
        detectors=DETECTORS,
    )
    doc = to_json(e)
    dumped = json.dumps(doc)
    text = render_text(e)
    for value in (CARD, "a@example.com"):
        assert value not in dumped
        assert value not in text
    assert doc["decision"] == {"outcome": "allow", "model": "local-m", "fallbacks": []}
    assert doc["classification"]["effective_class"] == "restricted"
    assert doc["classification"]["findings"][0] == {
        "type": "email",
        "data_class": "confidential",
        "count": 1,
        "spans": [{"text": 0, "start": 30, "end": 43}],
    }
    assert doc["candidates"][0] == {
        "model": "us-m",
        "zone": "us-vendor",
        "verdict": "zone_ceiling_below_data_class",
        "kept": False,
        "detail": "zone 'us-vendor' has ceiling 'internal', below the data class 'restricted'",
    }
    assert doc["candidates"][2]["kept"] is True
    assert "payment_card -> restricted: 1 (text 0 [5:24])" in text
    assert "decision: allow local-m (fallbacks: none)" in text
    assert "1. us-m [zone us-vendor] dropped (zone_ceiling_below_data_class)" in text
    assert "3. local-m [zone local] kept" in text


def test_renderings_of_a_denial() -> None:
    e = explain_request(CONFIG, f"card {CARD}", route="assistant", team="low", detectors=DETECTORS)
    doc = to_json(e)
    assert doc["decision"]["outcome"] == "deny"
    assert doc["decision"]["reason"] == "data_class_exceeds_clearance"
    assert doc["candidates_reached"] is False
    text = render_text(e)
    assert "decision: deny data_class_exceeds_clearance: the request's data class" in text
    assert "candidates (not reached):" in text
    empty = render_text(
        explain_request(CONFIG, "hi", route="assistant", team="default", detectors=DETECTORS)
    )
    assert "no findings" in empty
    assert "decision: allow us-m (fallbacks: eu-m, local-m)" in empty
