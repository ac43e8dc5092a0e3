"""The transformer driven by the gateway's classifier: nothing it found is left behind.

The invariant checked is the one that matters on the wire: after the transform, classifying the
body again finds nothing of a class that had to be transformed, however the classifier reads
text (normalisation, decoded JSON escapes), because the transformer asked the classifier itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.guards.transforms.fakes import ExplodingDetector, card, email
from zonegate.errors import ServiceUnavailable
from zonegate.guards.classify import Classifier, collect_texts
from zonegate.guards.transforms import RequestTransformer, UntransformableData
from zonegate.policy.classes import DataClasses
from zonegate.wire.openai_chat import ChatCompletionRequest

CLASSES = DataClasses(["public", "internal", "confidential", "restricted"])
ACTIONS = {"confidential": "pseudonymise", "restricted": "redact"}
A = "alice@example.com"


def classifier() -> Classifier:
    return Classifier([email(), card()], CLASSES)


def request(*contents: str, arguments: str = "{}") -> dict[str, Any]:
    return {
        "model": "m",
        "messages": [
            *({"role": "user", "content": c} for c in contents),
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": arguments},
        ],
        "metadata": {"who": A},
    }


BODIES = {
    "plain": request(f"mail {A}", "card 4111 1111 1111 1111"),
    "full-width digits": request("card \uff14\uff11\uff11\uff11 1111 1111 1111"),
    "zero-width inside": request("mail alice\u200b@example.com"),
    "escaped in arguments": request(arguments='{"to": "alice\\u0040example.com", "n": 1}'),
    "escaped quote in arguments": request(arguments=json.dumps({"q": f'"{A}"'})),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_nothing_the_classifier_finds_is_left(name: str) -> None:
    c = classifier()
    body = BODIES[name]
    result = RequestTransformer(c).transform(body, ACTIONS)
    again = c.classify(collect_texts(result.body))
    left = [f.finding for f in again.findings if f.finding.data_class in ACTIONS]
    assert left == []
    request_ = ChatCompletionRequest.model_validate(result.body)
    calls = request_.messages[-2].tool_calls
    assert calls is not None
    json.loads(calls[0].function.arguments)


def test_a_classifier_failure_fails_the_transform_closed() -> None:
    broken = Classifier([email(), ExplodingDetector()], CLASSES)
    with pytest.raises(ServiceUnavailable) as caught:
        RequestTransformer(broken).transform(BODIES["plain"], ACTIONS)
    assert caught.value.code == "detector_failed"


def test_pseudonyms_restore_what_the_classifier_found() -> None:
    result = RequestTransformer(classifier()).transform(BODIES["plain"], ACTIONS)
    assert result.pseudonyms is not None
    assert result.body["metadata"] == {"who": "<EMAIL_1>"}
    assert result.pseudonyms.restore("<EMAIL_1>") == A
    assert result.body["messages"][1]["content"] == "card [REDACTED_PAYMENT_CARD]"


class _NoScan:
    def classify(self, texts: Any) -> Any:
        raise AssertionError("scanned again although the classification was given")


@pytest.mark.parametrize("name", list(BODIES))
def test_a_classification_already_made_is_reused_not_repeated(name: str) -> None:
    body = BODIES[name]
    found = classifier().classify(collect_texts(body))
    reused = RequestTransformer(_NoScan()).transform(body, ACTIONS, found)
    fresh = RequestTransformer(classifier()).transform(body, ACTIONS)
    assert reused.body == fresh.body
    assert reused.counts == fresh.counts


def test_a_classification_of_another_body_is_refused() -> None:
    other = request(*[f"{A} {i}" for i in range(50)])
    found = classifier().classify(collect_texts(other))
    with pytest.raises(ServiceUnavailable) as caught:
        RequestTransformer(classifier()).transform(BODIES["plain"], ACTIONS, found)
    assert caught.value.code == "transform_failed"


def test_a_body_read_differently_from_classification_is_scanned_on_its_own() -> None:
    body = request("hello")
    body["metadata"] = {1: A, "k": A}  # a non-string key: classification reads it as "1"
    found = classifier().classify(collect_texts(body))
    result = RequestTransformer(classifier()).transform(body, ACTIONS, found)
    assert result.body["metadata"] == {1: "<EMAIL_1>", "k": "<EMAIL_1>"}


def test_a_value_equal_to_a_field_name_keeps_the_alignment() -> None:
    body = request("content")
    body["metadata"] = {"content": "content", A: A}
    found = classifier().classify(collect_texts(body))
    with pytest.raises(UntransformableData) as caught:
        RequestTransformer(classifier()).transform(body, ACTIONS, found)
    assert caught.value.path == "metadata (an object key)"
