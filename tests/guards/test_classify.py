from __future__ import annotations

from typing import Any

import pytest

from zonegate.errors import ServiceUnavailable
from zonegate.guards.base import Finding
from zonegate.guards.classify import Classification, Classifier, LocatedFinding, collect_texts
from zonegate.guards.detectors.pii import EmailDetector, PaymentCardDetector
from zonegate.guards.detectors.secrets import AwsAccessKeyDetector
from zonegate.policy.classes import DataClasses

CLASSES = DataClasses(["public", "internal", "confidential", "restricted"])
CARD = "4111 1111 1111 1111"


def classifier() -> Classifier:
    return Classifier(
        [
            EmailDetector(data_class="confidential"),
            PaymentCardDetector(data_class="restricted"),
            AwsAccessKeyDetector(data_class="restricted"),
        ],
        CLASSES,
    )


# --- collect_texts ----------------------------------------------------------------------------


def test_collects_every_string_except_the_top_level_model() -> None:
    body: dict[str, Any] = {
        "model": "the-route",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "part one"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q": "args"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "tool result"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "tool description",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            }
        ],
        "metadata": {"ticket": "meta value", "model": "nested model value"},
        "temperature": 0.5,
        "stream": True,
        "future_field": {"note": "unknown field value"},
    }
    texts = collect_texts(body)
    assert "the-route" not in texts
    for expected in [
        "be brief",
        "part one",
        '{"q": "args"}',
        "tool result",
        "tool description",
        "meta value",
        "nested model value",
        "unknown field value",
        "system",
        "call_1",
    ]:
        assert expected in texts
    # Names that are not OpenAI field names are content too.
    assert {"ticket", "future_field", "note", "q"} <= set(texts)
    assert "messages" not in texts
    assert "properties" not in texts
    assert texts.index("be brief") < texts.index("part one") < texts.index("tool result")


def test_integers_are_scanned_but_not_bools_floats_or_null() -> None:
    body = {"model": "m", "messages": [], "card": 4111111111111111, "n": True, "t": 0.5, "x": None}
    assert collect_texts(body) == ["card", "4111111111111111", "t", "x"]


def test_tuples_and_deep_nesting() -> None:
    deep: Any = "bottom"
    for _ in range(5000):
        deep = [deep]
    assert collect_texts({"a": ("x", deep)}) == ["a", "x", "bottom"]


def test_model_is_only_skipped_at_the_top() -> None:
    assert collect_texts({"model": "top", "data": [{"model": "inner"}]}) == ["inner"]


# --- Classifier -------------------------------------------------------------------------------


def test_nothing_found() -> None:
    result = classifier().classify(["hello", "world"])
    assert result == Classification({}, None, ())


def test_counts_highest_rank_and_located_findings() -> None:
    texts = [f"a@example.com and {CARD}", "nothing", "b@example.com, c@example.com"]
    result = classifier().classify(texts)
    assert result.counts == {"email": 3, "payment_card": 1}
    assert result.max_rank == CLASSES.rank("restricted")
    assert result.findings == (
        LocatedFinding(0, Finding("email", 0, 13, "confidential")),
        LocatedFinding(0, Finding("payment_card", 18, 37, "restricted")),
        LocatedFinding(2, Finding("email", 0, 13, "confidential")),
        LocatedFinding(2, Finding("email", 15, 28, "confidential")),
    )
    assert texts[0][18:37] == CARD


def test_the_highest_class_wins_whatever_the_detector_order() -> None:
    result = classifier().classify(["only a@example.com"])
    assert result.max_rank == CLASSES.rank("confidential")


def test_classification_holds_no_values() -> None:
    result = classifier().classify([f"card {CARD}, mail a@example.com"])
    assert CARD not in repr(result)
    assert "a@example.com" not in repr(result)


class Broken:
    type = "broken"

    def detect(self, text: str) -> list[Finding]:
        raise ValueError(f"cannot parse {text}")


class WrongClass:
    type = "wrong_class"

    def detect(self, text: str) -> list[Finding]:
        return [Finding("wrong_class", 0, 1, "top-secret")]


def test_a_failing_detector_fails_closed_without_leaking_the_text() -> None:
    broken = Classifier([EmailDetector(data_class="internal"), Broken()], CLASSES)
    with pytest.raises(ServiceUnavailable) as info:
        broken.classify([f"secret {CARD}"])
    assert info.value.code == "detector_failed"
    assert info.value.status == 503
    assert "'broken'" in info.value.message
    assert "ValueError" in info.value.message
    assert CARD not in info.value.message
    assert isinstance(info.value.__cause__, ValueError)


def test_a_failing_detector_fails_even_with_no_text_to_find() -> None:
    with pytest.raises(ServiceUnavailable):
        Classifier([Broken()], CLASSES).classify([""])


def test_an_unknown_data_class_from_a_detector_fails_closed() -> None:
    with pytest.raises(ServiceUnavailable) as info:
        Classifier([WrongClass()], CLASSES).classify(["x"])
    assert info.value.code == "detector_failed"
    assert "'top-secret'" in info.value.message


def test_detectors_are_exposed_in_order() -> None:
    c = classifier()
    assert [d.type for d in c.detectors] == ["email", "payment_card", "aws_access_key"]
