from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from tests.guards.transforms.fakes import (
    ExplodingDetector,
    FixedDetector,
    RegexDetector,
    card,
    email,
    secret,
)
from zonegate.errors import ServiceUnavailable
from zonegate.guards.base import Finding
from zonegate.guards.transforms import (
    Pseudonyms,
    RequestTransformer,
    TransformResult,
    UntransformableData,
)
from zonegate.wire.openai_chat import ChatCompletionRequest

A = "alice@example.com"
B = "bob@example.org"
CARD = "4111 1111 1111 1111"
KEY = "sk-abcdefgh12345678"
BOTH = {"confidential": "pseudonymise", "restricted": "pseudonymise"}


def transformer() -> RequestTransformer:
    return RequestTransformer([email(), card(), secret()])


def full_body() -> dict[str, Any]:
    """A request with sensitive values in every place a request can carry text."""
    arguments = json.dumps({"to": A, "cc": [B], "note": f"card {CARD}"})
    return {
        "model": f"route-for-{A}",
        "messages": [
            {"role": "system", "content": f"Escalate to {A}."},
            {"role": "developer", "content": [{"type": "text", "text": f"card {CARD}"}]},
            {
                "role": "user",
                "name": "alice",
                "content": [
                    {"type": "text", "text": f"I am {A}, key {KEY}"},
                    {"type": "image_url", "image_url": {"url": "https://img.test/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "send_mail", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": f"sent to {B}"},
            {"role": "assistant", "content": f"Done, {A} was told."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "send_mail",
                    "description": f"Sends mail as {B}",
                    "parameters": {
                        "type": "object",
                        "properties": {"to": {"type": "string", "description": f"e.g. {A}"}},
                    },
                },
            }
        ],
        "metadata": {"requester": A},
        "user": A,
        "x_vendor_field": {"nested": [f"pay with {CARD}", 7, None, True, 1.5]},
        "temperature": 0.2,
    }


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings(v)]]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def restore_body(value: Any, pseudonyms: Pseudonyms, key: Any = None) -> Any:
    if isinstance(value, str):
        return pseudonyms.restore(value, json_string=key == "arguments")
    if isinstance(value, dict):
        return {k: restore_body(v, pseudonyms, k) for k, v in value.items()}
    if isinstance(value, list):
        return [restore_body(v, pseudonyms) for v in value]
    return value


def without_model(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "model"}


# --- pseudonymise -----------------------------------------------------------------------------


def test_pseudonymise_replaces_every_value_everywhere_and_restores_exactly() -> None:
    body = full_body()
    result = transformer().transform(body, BOTH)
    sent = json.dumps(without_model(result.body))
    for value in (A, B, CARD, KEY):
        assert value not in sent
    assert result.pseudonyms is not None
    assert restore_body(result.body, result.pseudonyms) == body


def test_pseudonymised_body_is_still_the_same_openai_request() -> None:
    result = transformer().transform(full_body(), BOTH)
    request = ChatCompletionRequest.model_validate(result.body)
    call = request.messages[3].tool_calls
    assert call is not None
    assert json.loads(call[0].function.arguments) == {
        "to": "<EMAIL_1>",
        "cc": ["<EMAIL_2>"],
        "note": "card <PAYMENT_CARD_1>",
    }
    assert request.messages[0].content == "Escalate to <EMAIL_1>."
    assert request.messages[1].text() == "card <PAYMENT_CARD_1>"
    assert request.messages[2].text() == "I am <EMAIL_1>, key <API_KEY_1>"
    assert request.messages[4].content == "sent to <EMAIL_2>"
    assert request.tools is not None
    function = request.tools[0]["function"]
    assert function["description"] == "Sends mail as <EMAIL_2>"
    assert function["parameters"]["properties"]["to"]["description"] == "e.g. <EMAIL_1>"
    assert request.metadata == {"requester": "<EMAIL_1>"}
    assert request.user == "<EMAIL_1>"
    assert result.body["x_vendor_field"] == {
        "nested": ["pay with <PAYMENT_CARD_1>", 7, None, True, 1.5]
    }


def test_counts_every_replaced_finding_by_type() -> None:
    result = transformer().transform(full_body(), BOTH)
    assert result.counts == {"email": 10, "payment_card": 3, "api_key": 1}
    assert result.replaced == 14


def test_same_value_gets_the_same_placeholder_and_different_values_different_ones() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": f"{B} then {A} then {B}"},
            {"role": "user", "content": f"{A} and {CARD} and 4111-1111-1111-1112"},
        ],
    }
    result = transformer().transform(body, BOTH)
    messages = result.body["messages"]
    assert messages[0]["content"] == "<EMAIL_1> then <EMAIL_2> then <EMAIL_1>"
    assert messages[1]["content"] == "<EMAIL_2> and <PAYMENT_CARD_1> and <PAYMENT_CARD_2>"
    assert result.pseudonyms is not None
    assert len(result.pseudonyms) == 4
    assert result.pseudonyms.restore("<EMAIL_2>/<PAYMENT_CARD_2>") == f"{A}/4111-1111-1111-1112"


def test_numbering_is_deterministic() -> None:
    first = transformer().transform(full_body(), BOTH)
    second = transformer().transform(full_body(), BOTH)
    assert first.body == second.body


# --- redact -----------------------------------------------------------------------------------


def test_redact_writes_typed_placeholders_and_keeps_no_mapping() -> None:
    actions = {"confidential": "redact", "restricted": "redact"}
    result = transformer().transform(full_body(), actions)
    assert result.pseudonyms is None
    sent = json.dumps(without_model(result.body))
    for value in (A, B, CARD, KEY):
        assert value not in sent
    messages = result.body["messages"]
    assert messages[0]["content"] == "Escalate to [REDACTED_EMAIL]."
    assert messages[2]["content"][0]["text"] == "I am [REDACTED_EMAIL], key [REDACTED_API_KEY]"
    arguments = json.loads(messages[3]["tool_calls"][0]["function"]["arguments"])
    assert arguments["note"] == "card [REDACTED_PAYMENT_CARD]"
    ChatCompletionRequest.model_validate(result.body)


def test_actions_mix_per_class() -> None:
    actions = {"confidential": "pseudonymise", "restricted": "redact"}
    body = {"model": "m", "messages": [{"role": "user", "content": f"{A} {CARD} {KEY}"}]}
    result = transformer().transform(body, actions)
    assert result.body["messages"][0]["content"] == (
        "<EMAIL_1> [REDACTED_PAYMENT_CARD] [REDACTED_API_KEY]"
    )
    assert result.pseudonyms is not None
    assert result.pseudonyms.placeholders == ("<EMAIL_1>",)


def test_only_classes_named_in_actions_are_touched() -> None:
    result = transformer().transform(full_body(), {"restricted": "redact"})
    sent = json.dumps(result.body)
    assert A in sent
    assert B in sent
    assert CARD not in sent
    assert KEY not in sent
    assert set(result.counts) == {"payment_card", "api_key"}


def test_no_actions_is_an_identical_copy() -> None:
    body = full_body()
    result = transformer().transform(body, {})
    assert result.body == body
    assert result.counts == {}
    assert result.pseudonyms is None


def test_the_top_level_model_is_never_changed() -> None:
    result = transformer().transform(full_body(), BOTH)
    assert result.body["model"] == f"route-for-{A}"


def test_input_is_not_mutated_and_the_result_shares_no_containers() -> None:
    body = full_body()
    before = copy.deepcopy(body)
    result = transformer().transform(body, BOTH)
    assert body == before
    assert result.body is not body
    assert result.body["messages"] is not body["messages"]
    assert result.body["messages"][2]["content"][1] is not body["messages"][2]["content"][1]
    result.body["messages"][2]["content"][1]["image_url"]["url"] = "changed"
    assert body == before


def test_the_transformed_body_has_nothing_left_to_transform() -> None:
    detectors = [email(), card(), secret()]
    result = RequestTransformer(detectors).transform(full_body(), BOTH)
    leftovers = [
        f for text in strings(without_model(result.body)) for d in detectors for f in d.detect(text)
    ]
    assert leftovers == []


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown transform 'hash'"):
        transformer().transform(full_body(), {"confidential": "hash"})


# --- overlaps ---------------------------------------------------------------------------------


def test_overlapping_findings_become_one_replacement_of_the_widest_type() -> None:
    text = "ab0123456789cd"
    detectors = [
        FixedDetector("inner", "confidential", [(4, 8)], text),
        FixedDetector("outer", "confidential", [(2, 12)], text),
    ]
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    result = RequestTransformer(detectors).transform(body, {"confidential": "pseudonymise"})
    assert result.body["messages"][0]["content"] == "ab<OUTER_1>cd"
    assert result.counts == {"outer": 1}
    assert result.pseudonyms is not None
    assert result.pseudonyms.restore("<OUTER_1>") == "0123456789"


def test_chained_overlaps_cover_their_union_and_redaction_wins() -> None:
    text = "0123456789ab"
    detectors = [
        FixedDetector("left", "internal", [(0, 4)], text),
        FixedDetector("right", "restricted", [(2, 9)], text),
        FixedDetector("apart", "internal", [(10, 12)], text),
    ]
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    actions = {"internal": "pseudonymise", "restricted": "redact"}
    result = RequestTransformer(detectors).transform(body, actions)
    assert result.body["messages"][0]["content"] == "[REDACTED_RIGHT]9<APART_1>"


def test_a_finding_of_another_class_does_not_widen_a_replacement() -> None:
    text = "01234567"
    detectors = [
        FixedDetector("narrow", "restricted", [(2, 4)], text),
        FixedDetector("wide", "public", [(0, 8)], text),
    ]
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    result = RequestTransformer(detectors).transform(body, {"restricted": "redact"})
    assert result.body["messages"][0]["content"] == "01[REDACTED_NARROW]4567"


# --- where a value cannot be replaced ---------------------------------------------------------


def test_a_finding_in_an_object_key_is_refused_without_naming_the_value() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "metadata": {A: "x"}}
    with pytest.raises(UntransformableData) as caught:
        transformer().transform(body, BOTH)
    error = caught.value
    assert error.path == "metadata (an object key)"
    assert error.data_type == "email"
    assert A not in str(error)
    assert A not in repr(error)
    assert "send it as a value" in str(error)


def test_a_finding_in_a_tool_parameter_name_is_refused() -> None:
    body = full_body()
    body["tools"][0]["function"]["parameters"]["properties"] = {KEY: {"type": "string"}}
    with pytest.raises(UntransformableData) as caught:
        transformer().transform(body, BOTH)
    assert caught.value.path == "tools[0].function.parameters.properties (an object key)"
    assert KEY not in str(caught.value)


def test_a_key_whose_class_needs_no_transform_is_kept() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "metadata": {A: "x"}}
    result = transformer().transform(body, {"restricted": "redact"})
    assert result.body["metadata"] == {A: "x"}


def test_a_finding_in_a_json_number_is_refused() -> None:
    detectors = [RegexDetector("payment_card", r"4[0-9]{15}", "restricted")]
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "x_acct": 4111111111111111,
    }
    with pytest.raises(UntransformableData) as caught:
        RequestTransformer(detectors).transform(body, {"restricted": "redact"})
    assert caught.value.path == "x_acct"
    assert "4111111111111111" not in str(caught.value)
    assert "send it as a string" in str(caught.value)


@pytest.mark.parametrize(
    ("place", "path"),
    [
        ("message", "messages[0].name"),
        ("tool", "tools[0].function.name"),
        ("call", "messages[1].tool_calls[0].function.name"),
        ("choice", "tool_choice.function.name"),
    ],
)
def test_a_finding_in_a_name_field_is_refused(place: str, path: str) -> None:
    name = KEY
    body: dict[str, Any] = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi", **({"name": name} if place == "message" else {})},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {
                            "name": name if place == "call" else "f",
                            "arguments": "{}",
                        },
                    }
                ],
            },
        ],
        "tools": [{"type": "function", "function": {"name": name if place == "tool" else "f"}}],
        "tool_choice": {
            "type": "function",
            "function": {"name": name if place == "choice" else "f"},
        },
    }
    with pytest.raises(UntransformableData) as caught:
        transformer().transform(body, BOTH)
    assert caught.value.path == path
    assert KEY not in str(caught.value)


def test_the_path_hides_keys_that_may_hold_data() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"plain_key": {A: {B: [{"deep": 4111111111111111}]}}},
    }
    detectors = [email(), RegexDetector("payment_card", r"4[0-9]{15}", "restricted")]
    with pytest.raises(UntransformableData) as caught:
        RequestTransformer(detectors).transform(body, {"restricted": "redact"})
    assert caught.value.path == "metadata.plain_key.{key}.{key}[0].deep"
    assert A not in str(caught.value)
    assert B not in str(caught.value)


# --- detectors that fail ----------------------------------------------------------------------


def test_a_failing_detector_fails_closed() -> None:
    t = RequestTransformer([email(), ExplodingDetector()])
    with pytest.raises(ServiceUnavailable) as caught:
        t.transform(full_body(), BOTH)
    assert caught.value.code == "detector_failed"
    assert "'exploding'" in caught.value.message


def test_a_finding_outside_its_text_fails_closed() -> None:
    class Bad:
        type = "bad"

        def detect(self, text: str) -> list[Finding]:
            return [Finding("bad", 0, len(text) + 1, "confidential")]

    t = RequestTransformer([Bad()])
    with pytest.raises(ServiceUnavailable, match="does not fit the text"):
        t.transform({"model": "m", "messages": [{"role": "user", "content": "x"}]}, BOTH)


# --- text already shaped like a placeholder ---------------------------------------------------


def test_placeholders_skip_numbers_the_request_already_contains() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": f"mail {A}"},
            {"role": "user", "content": "template: Dear <EMAIL_1>, <EMAIL_3>"},
        ],
    }
    result = transformer().transform(body, BOTH)
    assert result.body["messages"][0]["content"] == "mail <EMAIL_2>"
    assert result.body["messages"][1]["content"] == "template: Dear <EMAIL_1>, <EMAIL_3>"
    assert result.pseudonyms is not None
    assert result.pseudonyms.restore("<EMAIL_1> <EMAIL_2> <EMAIL_3>") == f"<EMAIL_1> {A} <EMAIL_3>"


# --- tool-call arguments stay valid JSON ------------------------------------------------------


def call_body(arguments: str) -> dict[str, Any]:
    return {
        "model": "m",
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": arguments},
                    }
                ],
            }
        ],
    }


def arguments_of(body: dict[str, Any]) -> str:
    text: str = body["messages"][0]["tool_calls"][0]["function"]["arguments"]
    return text


@pytest.mark.parametrize("action", ["redact", "pseudonymise"])
def test_arguments_with_escapes_stay_valid_json(action: str) -> None:
    value = {"q": f'say "{A}"\n\\ and \u00e9 {CARD}', "n": [1, 2.5, None, True]}
    raw = json.dumps(value)
    actions = {"confidential": action, "restricted": action}
    result = transformer().transform(call_body(raw), actions)
    parsed = json.loads(arguments_of(result.body))
    assert A not in arguments_of(result.body)
    assert parsed["n"] == [1, 2.5, None, True]
    if result.pseudonyms is not None:
        assert (
            json.loads(result.pseudonyms.restore(arguments_of(result.body), json_string=True))
            == value
        )


def test_a_finding_cutting_through_an_escape_is_widened_to_the_whole_escape() -> None:
    raw = r'{"k": "ab\"cd"}'  # the detector below ends right after the backslash
    start = raw.index("ab")
    detector = FixedDetector("thing", "confidential", [(start, start + 3)], raw)
    result = RequestTransformer([detector]).transform(
        call_body(raw), {"confidential": "pseudonymise"}
    )
    assert json.loads(arguments_of(result.body)) == {"k": "<THING_1>cd"}
    assert result.pseudonyms is not None
    assert result.pseudonyms.restore("<THING_1>") == 'ab"'


def test_a_finding_across_json_structure_replaces_only_string_contents() -> None:
    raw = '{"password": "hunter2", "x": 1}'
    detector = FixedDetector("secret", "restricted", [(1, raw.index("hunter2") + 7)], raw)
    result = RequestTransformer([detector]).transform(call_body(raw), {"restricted": "redact"})
    assert json.loads(arguments_of(result.body)) == {
        "[REDACTED_SECRET]": "[REDACTED_SECRET]",
        "x": 1,
    }


def test_a_bare_number_in_arguments_becomes_a_quoted_placeholder() -> None:
    raw = '{"card": 4111111111111111, "qty": 2}'
    detectors = [RegexDetector("payment_card", r"4[0-9]{15}", "restricted")]
    result = RequestTransformer(detectors).transform(call_body(raw), {"restricted": "pseudonymise"})
    assert json.loads(arguments_of(result.body)) == {"card": "<PAYMENT_CARD_1>", "qty": 2}
    assert result.pseudonyms is not None
    restored = result.pseudonyms.restore(arguments_of(result.body), json_string=True)
    assert json.loads(restored) == {"card": "4111111111111111", "qty": 2}


def test_arguments_that_are_not_json_are_treated_as_text() -> None:
    raw = f'{{"to": "{A}"'  # cut short, as a model may leave it
    result = transformer().transform(call_body(raw), BOTH)
    assert arguments_of(result.body) == '{"to": "<EMAIL_1>"'


# --- no values in reprs -----------------------------------------------------------------------


def test_reprs_and_messages_never_show_values() -> None:
    t = transformer()
    result = t.transform(full_body(), BOTH)
    assert result.pseudonyms is not None
    shown = [
        repr(t),
        repr(result),
        str(result),
        repr(result.pseudonyms),
        str(result.pseudonyms),
        repr(result.pseudonyms.stream_restorer()),
        repr(result.pseudonyms.chunk_restorer()),
    ]
    for text in shown:
        for value in (A, B, CARD, KEY):
            assert value not in text
    assert repr(result).startswith("TransformResult(counts={'email': 10")
    assert repr(result.pseudonyms) == "Pseudonyms(4 values)"


def test_placeholders_contain_no_json_specials_or_whitespace() -> None:
    detectors = [
        RegexDetector('we"ird \\ type', "x+", "confidential"),
        RegexDetector("éé", "y+", "confidential"),
    ]
    body = {"model": "m", "messages": [{"role": "user", "content": "x y"}]}
    for action in ("redact", "pseudonymise"):
        result = RequestTransformer(detectors).transform(body, {"confidential": action})
        content = result.body["messages"][0]["content"]
        assert re.fullmatch(r"[\[<][A-Z0-9_]+[\]>] [\[<][A-Z0-9_]+[\]>]", content), content


# --- redact_text ------------------------------------------------------------------------------


def test_redact_text_redacts_every_class() -> None:
    t = transformer()
    assert (
        t.redact_text(f"{A} paid with {CARD}")
        == "[REDACTED_EMAIL] paid with [REDACTED_PAYMENT_CARD]"
    )
    assert t.redact_text("nothing here") == "nothing here"


def test_result_type() -> None:
    result = transformer().transform(full_body(), BOTH)
    assert isinstance(result, TransformResult)


def test_key_order_is_kept() -> None:
    body = {"messages": [{"content": A, "role": "user"}], "model": "m", "user": "u"}
    result = transformer().transform(body, BOTH)
    assert list(result.body) == ["messages", "model", "user"]
    assert list(result.body["messages"][0]) == ["content", "role"]


_JSON_TEXT = st.text(alphabet=st.sampled_from(list('ab.@ "\\\n\u00e9-1')), max_size=12)
_EMAILS = st.sampled_from([A, B, "x.y@z.io"])
_STRINGS = st.lists(st.one_of(_JSON_TEXT, _EMAILS), max_size=4).map("".join)
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), _STRINGS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["k", "to", "n"]), inner)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, ascii_only=st.booleans())
def test_arguments_stay_valid_json_and_round_trip(value: Any, ascii_only: bool) -> None:
    raw = json.dumps({"v": value}, ensure_ascii=ascii_only)
    detector = email()
    result = RequestTransformer([detector]).transform(
        call_body(raw), {"confidential": "pseudonymise"}
    )
    sent = arguments_of(result.body)
    json.loads(sent)
    assert detector.detect(sent) == []
    if result.pseudonyms is None:
        assert sent == raw
    else:
        assert json.loads(result.pseudonyms.restore(sent, json_string=True)) == {"v": value}


def test_scanning_on_its_own_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    aligned = transformer().transform(full_body(), BOTH)
    # Pretend classification reads bodies differently, so the transform walks on its own.
    monkeypatch.setattr("zonegate.guards.transforms.request.collect_texts", lambda body: [])
    alone = transformer().transform(full_body(), BOTH)
    assert alone.body == aligned.body
    assert alone.counts == aligned.counts
    with pytest.raises(UntransformableData, match="metadata"):
        transformer().transform({**full_body(), "metadata": {A: "x"}}, BOTH)
