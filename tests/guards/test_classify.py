from __future__ import annotations

import time
from typing import Any

import pytest

from zonegate.config.schema import DEFAULT_DETECTORS
from zonegate.errors import ServiceUnavailable
from zonegate.guards.base import Finding
from zonegate.guards.classify import (
    SEPARATOR,
    Classification,
    Classifier,
    LocatedFinding,
    collect_texts,
)
from zonegate.guards.detectors import (
    contact as contact_module,
    credentials as credentials_module,
    national_ids as ids_module,
    network as network_module,
    phone as phone_module,
    pii as pii_module,
    secrets as secrets_module,
)
from zonegate.guards.detectors._base import BuiltinDetector
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


class Slow:
    """Takes ``seconds`` per text; joinable or not."""

    def __init__(self, seconds: float, joinable: bool) -> None:
        self.type = "slow"
        self.seconds = seconds
        self.joinable = joinable

    def detect(self, text: str) -> list[Finding]:
        time.sleep(self.seconds)
        return []


@pytest.mark.parametrize("joinable", [True, False])
def test_a_detector_past_the_budget_fails_closed_naming_it(joinable: bool) -> None:
    slow = Classifier(
        [EmailDetector(data_class="internal"), Slow(0.03, joinable)], CLASSES, budget=0.01
    )
    with pytest.raises(ServiceUnavailable) as info:
        slow.classify([f"secret {CARD}"])
    assert info.value.code == "detector_timeout"
    assert info.value.status == 503
    assert "'slow'" in info.value.message
    assert "10 ms budget" in info.value.message
    assert "server.detection_timeout_ms" in info.value.message
    assert CARD not in info.value.message


def test_a_detector_within_the_budget_classifies_as_usual() -> None:
    relaxed = Classifier(
        [EmailDetector(data_class="internal"), Slow(0.0, False)], CLASSES, budget=5.0
    )
    assert relaxed.classify(["a@example.com"]).counts == {"email": 1}


def test_without_a_budget_a_slow_detector_is_waited_for() -> None:
    assert Classifier([Slow(0.02, True)], CLASSES).classify(["x"]).counts == {}


def test_detectors_are_exposed_in_order() -> None:
    c = classifier()
    assert [d.type for d in c.detectors] == ["email", "payment_card", "aws_access_key"]


# --- every built-in, normalisation, JSON values, joined texts -----------------------------------


def all_builtins() -> Classifier:
    classes = {
        **{cls.type: cls for cls in vars(pii_module).values() if _is_builtin(cls)},
        **{cls.type: cls for cls in vars(ids_module).values() if _is_builtin(cls)},
        **{cls.type: cls for cls in vars(phone_module).values() if _is_builtin(cls)},
        **{cls.type: cls for cls in vars(contact_module).values() if _is_builtin(cls)},
        **{cls.type: cls for cls in vars(network_module).values() if _is_builtin(cls)},
        **{cls.type: cls for cls in vars(secrets_module).values() if _is_builtin(cls)},
        **{cls.type: cls for cls in vars(credentials_module).values() if _is_builtin(cls)},
    }
    assert set(classes) == set(DEFAULT_DETECTORS)
    return Classifier(
        [classes[name](data_class=entry.data_class) for name, entry in DEFAULT_DETECTORS.items()],
        CLASSES,
    )


def _is_builtin(cls: object) -> bool:
    return isinstance(cls, type) and issubclass(cls, BuiltinDetector) and bool(cls.type)


def spans(result: Classification, texts: list[str]) -> list[tuple[str, str]]:
    return [
        (x.finding.type, texts[x.text_index][x.finding.start : x.finding.end])
        for x in result.findings
    ]


@pytest.mark.parametrize(
    "card",
    [
        "4111\u200b1111\u200b1111\u200b1111",  # zero-width spaces inside
        "４１１１ １１１１ １１１１ １１１１",  # full-width digits
        "4111\U000e0020\U000e00201111 1111 1111",  # tag characters
        "4111.1111.1111.1111",
        "4111 1111-1111 1111",
        "4111\u00a01111\u00a01111\u00a01111",
        "4111–1111–1111–1111",
    ],
)
def test_evasions_are_found_with_spans_in_the_original(card: str) -> None:
    texts = [f"pay with {card} today"]
    result = classifier().classify(texts)
    assert result.counts == {"payment_card": 1}
    (item,) = result.findings
    assert texts[0][item.finding.start : item.finding.end] == card


def test_spans_after_a_trick_stay_exact() -> None:
    texts = ["\u200bmail a@example.com then ４１１１ １１１１ １１１１ １１１１ and b@example.com"]
    result = classifier().classify(texts)
    assert spans(result, texts) == [
        ("email", "a@example.com"),
        ("payment_card", "４１１１ １１１１ １１１１ １１１１"),
        ("email", "b@example.com"),
    ]


def test_escaped_values_in_tool_arguments_are_found_in_the_raw_string() -> None:
    arguments = '{"card": "4111\\u00201111\\u00201111\\u00201111", "note": "line\\nbreak"}'
    texts = collect_texts(
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "pay", "arguments": arguments},
                        }
                    ],
                }
            ]
        }
    )
    result = classifier().classify(texts)
    assert spans(result, texts) == [("payment_card", "4111\\u00201111\\u00201111\\u00201111")]


def test_a_value_seen_raw_and_decoded_counts_once() -> None:
    texts = ['{"card": "4111 1111 1111 1111", "note": "a\\nb"}']
    assert classifier().classify(texts).counts == {"payment_card": 1}


def test_everything_in_a_request_is_scanned() -> None:
    body: dict[str, Any] = {
        "model": "r",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "mail me: jane@example.com"}]},
            {
                "role": "tool",
                "tool_call_id": "c1",
                "content": '{"result": "card 5555 5555 5555 4444"}',
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "uses key AKIAIOSFODNN7EXAMPLE",
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ],
        "x_customer": {"ssn": "536-22-8726"},
    }
    texts = collect_texts(body)
    result = all_builtins().classify(texts)
    assert {"email", "payment_card", "aws_access_key", "us_ssn"} <= set(result.counts)
    assert result.max_rank == CLASSES.rank("restricted")
    found = spans(result, texts)
    assert ("payment_card", "5555 5555 5555 4444") in found
    assert ("us_ssn", "536-22-8726") in found


def test_a_key_and_its_value_collected_apart_still_pair_up() -> None:
    texts = collect_texts(
        {"model": "r", "metadata": {"date_of_birth": "1980-05-17", "password": "R4nd0m!Str1ng#42"}}
    )
    result = all_builtins().classify(texts)
    assert spans(result, texts) == [
        ("date_of_birth", "1980-05-17"),
        ("secret_assignment", "R4nd0m!Str1ng#42"),
    ]


def test_findings_never_cross_texts() -> None:
    texts = [
        "4111 1111",
        "1111 1111",
        "-----BEGIN PRIVATE KEY-----",
        "MIIE",
        "-----END PRIVATE KEY-----",
    ]
    result = all_builtins().classify(texts)
    assert "payment_card" not in result.counts
    for item in result.findings:
        assert 0 <= item.finding.start < item.finding.end <= len(texts[item.text_index])


def test_the_typical_chat_body_finds_nothing() -> None:
    body = {
        "model": "r",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. Answer in 3 sentences."},
            {
                "role": "user",
                "content": "Summarise the Q3 planning notes; version 1.2.3.4 ships on 2024-10-01.",
            },
        ],
    }
    assert all_builtins().classify(collect_texts(body)) == Classification({}, None, ())


class SpanMaker:
    """A joinable detector that reports what it is told, to test the mapping."""

    type = "maker"
    joinable = True

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.spans = spans
        self.seen: list[str] = []

    def detect(self, text: str) -> list[Finding]:
        self.seen.append(text)
        return [Finding("maker", s, e, "internal") for s, e in self.spans]


def test_joinable_detectors_run_once_and_spans_are_mapped_and_clipped() -> None:
    texts = ["abc", "defgh"]
    joined = "abc" + SEPARATOR + "defgh"
    second = joined.index("d")
    maker = SpanMaker([(1, 2), (2, second + 2), (3, second + 1), (second, 10**6), (-5, 0)])
    result = Classifier([maker], CLASSES).classify(texts)
    assert maker.seen == [joined]
    assert [(x.text_index, x.finding.start, x.finding.end) for x in result.findings] == [
        (0, 1, 2),
        (0, 2, 3),  # clipped at the end of its text
        (1, 0, 1),  # began in the separator: moved to the next text
        (1, 0, 5),
    ]


class BrokenJoinable(Broken):
    joinable = True
    needs_digits = True


def test_a_failing_joinable_detector_fails_closed() -> None:
    with pytest.raises(ServiceUnavailable) as info:
        Classifier([BrokenJoinable()], CLASSES).classify(["no digit here", "but 1 here"])
    assert info.value.code == "detector_failed"


def test_digit_detectors_are_skipped_without_digits() -> None:
    assert Classifier([BrokenJoinable()], CLASSES).classify(["no digits"]) == Classification(
        {}, None, ()
    )


def test_deeply_nested_json_is_still_scanned_as_text() -> None:
    text = "[" * 100_000 + '"4111 1111 1111 1111\\n"' + "]" * 100_000
    assert classifier().classify([text]).counts == {"payment_card": 1}


def test_a_failure_outside_the_detectors_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    from zonegate.guards import classify as classify_module

    def explode(text: str) -> tuple[str, None]:
        raise MemoryError("no room")

    monkeypatch.setattr(classify_module, "normalize", explode)
    with pytest.raises(ServiceUnavailable) as info:
        classifier().classify(["x"])
    assert info.value.code == "detector_failed"
