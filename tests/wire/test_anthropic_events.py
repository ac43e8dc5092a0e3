"""Anthropic stream events as chat completion chunks, judged by the ``openai`` SDK: every chunk
validates as its ``ChatCompletionChunk`` and its stream accumulator rebuilds the completion
(text, tool calls with whole arguments, finish reason, usage)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import RawMessageStreamEvent
from hypothesis import given, settings, strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk as OpenAIChunk
from pydantic import TypeAdapter

from tests.wire.anthropic_sdk import chunk, tool_call
from zonegate.errors import UpstreamError
from zonegate.wire.anthropic_events import EventsToChatChunks
from zonegate.wire.anthropic_sse import ChatChunksToEvents
from zonegate.wire.openai_chat import ChatCompletionChunk

SDK_EVENT: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)

# A stream as Anthropic sends it: text, then a tool call whose input arrives in fragments.
RECORDED = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_01ABC",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 472, "output_tokens": 2, "cache_read_input_tokens": 100},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Okay, "}},
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "checking."},
    },
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {
            "type": "tool_use",
            "id": "toolu_01T1",
            "name": "get_weather",
            "input": {},
        },
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": ""},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"location":'},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": ' "San Francisco, CA"}'},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 89},
    },
    {"type": "message_stop"},
]


def translate(events: list[Any]) -> tuple[list[ChatCompletionChunk], EventsToChatChunks]:
    stream = EventsToChatChunks("claude-route", created=1_700_000_000)
    chunks = [c for event in events for c in stream.feed(event)]
    return chunks, stream


def accumulate(chunks: list[ChatCompletionChunk]) -> Any:
    """The completion OpenAI's own stream accumulator builds from ``chunks``."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for c in chunks:
        state.handle_chunk(OpenAIChunk.model_validate(c.model_dump(exclude_none=True)))
    return state.get_final_completion()


def test_a_recorded_stream_becomes_chunks_openai_reassembles() -> None:
    for event in RECORDED:
        if event["type"] != "ping":
            SDK_EVENT.validate_python(event)
    chunks, stream = translate(RECORDED)
    assert stream.finished
    assert all(
        (c.id, c.model, c.created) == ("msg_01ABC", "claude-sonnet-5-5", 1_700_000_000)
        for c in chunks
    )
    assert chunks[0].choices[0].delta.role == "assistant"

    completion = accumulate(chunks)
    message = completion.choices[0].message
    assert message.content == "Okay, checking."
    assert [
        (t.id, t.function.name, json.loads(t.function.arguments)) for t in message.tool_calls
    ] == [
        ("toolu_01T1", "get_weather", {"location": "San Francisco, CA"}),
    ]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.usage.prompt_tokens == 572
    assert completion.usage.completion_tokens == 89
    assert completion.usage.prompt_tokens_details.cached_tokens == 100


def test_raw_payloads_read_as_their_parsed_json() -> None:
    parsed, _ = translate(RECORDED)
    raw, stream = translate(
        [json.dumps(e).encode() if i % 2 else json.dumps(e) for i, e in enumerate(RECORDED)]
    )
    assert raw == parsed
    assert stream.finished


def test_the_usage_chunk_comes_after_the_finish_reason_with_no_choices() -> None:
    chunks, _ = translate(RECORDED)
    finish, usage = chunks[-2], chunks[-1]
    assert finish.choices[0].finish_reason == "tool_calls"
    assert usage.choices == []
    assert usage.usage is not None
    assert usage.usage.total_tokens == 572 + 89


def test_cumulative_input_counts_on_message_delta_replace_the_starting_ones() -> None:
    events = [
        *RECORDED[:2],
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {
                "output_tokens": 3,
                "input_tokens": 500,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 40,
            },
        },
    ]
    SDK_EVENT.validate_python(events[-1])
    chunks, _ = translate(events)
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (540, 3)
    assert "prompt_tokens_details" not in (usage.model_extra or {})


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
    ],
)
def test_stop_reasons_become_finish_reasons(stop_reason: str, finish: str) -> None:
    chunks, stream = translate(
        [
            *RECORDED[:2],
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason},
                "usage": {"output_tokens": 1},
            },
        ]
    )
    assert chunks[-2].choices[0].finish_reason == finish
    assert stream.finished


def test_a_stream_cut_before_its_end_is_not_finished() -> None:
    chunks, stream = translate(RECORDED[:5])
    assert not stream.finished
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Okay, checking."
    )


def test_message_stop_alone_finishes_the_stream() -> None:
    _, stream = translate(
        [*RECORDED[:2], {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 1}}]
    )
    assert not stream.finished
    assert stream.feed({"type": "message_stop"}) == []
    assert stream.finished


def test_thinking_and_unknown_events_carry_nothing() -> None:
    events = [
        RECORDED[0],
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Hmm."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "abc"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "text", "text": "Hi"},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "citations_delta", "citation": {}},
        },
        {"type": "some_future_event", "payload": 1},
    ]
    chunks, _ = translate(events)
    assert [c.choices[0].delta.content for c in chunks] == ["", "Hi"]


def test_a_tool_use_block_that_starts_with_its_input_sends_it_whole() -> None:
    chunks, _ = translate(
        [
            RECORDED[0],
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            },
        ]
    )
    assert chunks[1].choices[0].delta.tool_calls == [
        {
            "index": 0,
            "id": "t",
            "type": "function",
            "function": {"name": "f", "arguments": '{"a": 1}'},
        }
    ]
    assert len(chunks) == 2


def test_an_error_event_is_an_upstream_error() -> None:
    stream = EventsToChatChunks("m")
    stream.feed(RECORDED[0])
    with pytest.raises(UpstreamError) as caught:
        stream.feed(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        )
    assert caught.value.code == "upstream_stream_error"
    assert "overloaded_error: Overloaded" in caught.value.message
    with pytest.raises(UpstreamError, match="no reason given"):
        stream.feed({"type": "error"})


@pytest.mark.parametrize(
    ("event", "says"),
    [
        (
            {
                "type": "content_block_delta",
                "index": 7,
                "delta": {"type": "text_delta", "text": "x"},
            },
            "before its start",
        ),
        (
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "x"},
            },
            "not text",
        ),
        (
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": "{"},
            },
            "not a tool_use",
        ),
        (
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {
                    "type": "server_tool_use",
                    "id": "s",
                    "name": "web_search",
                    "input": {},
                },
            },
            "'server_tool_use'",
        ),
        (
            {"type": "content_block_delta", "index": "zero", "delta": {"type": "text_delta"}},
            "index: Input should be a valid integer",
        ),
        ({"type": "message_start", "message": {"type": "message"}}, "message.id: Field required"),
        ({"no_type": True}, "type: Field required"),
        ("event: ping", "stream event: Invalid JSON"),
        (42, "stream event: Input should be a valid dictionary"),
    ],
)
def test_events_out_of_shape_or_order_are_upstream_errors(event: Any, says: str) -> None:
    stream = EventsToChatChunks("m")
    stream.feed(RECORDED[0])
    stream.feed(RECORDED[1])  # block 0: text
    stream.feed(RECORDED[6])  # block 1: tool_use
    with pytest.raises(UpstreamError) as caught:
        stream.feed(event)
    assert caught.value.code == "upstream_bad_response"
    assert says in caught.value.message


def test_the_served_model_and_clock_stand_in_when_not_given() -> None:
    stream = EventsToChatChunks("claude-route")
    start = {**RECORDED[0], "message": {**RECORDED[0]["message"], "model": ""}}
    (first,) = stream.feed(start)
    assert first.model == "claude-route"
    assert first.created > 1_700_000_000


# -- both directions ---------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
_ARGS = st.dictionaries(
    st.text("abcxyz", min_size=1, max_size=4), st.integers() | _TEXT, max_size=3
)
_SEGMENT = st.one_of(
    st.tuples(st.just("text"), st.lists(_TEXT, min_size=1, max_size=3)),
    st.tuples(
        st.just("tool"),
        st.tuples(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), _ARGS, st.integers(1, 4)),
    ),
)


def _chat_stream(
    segments: list[tuple[str, Any]],
) -> tuple[list[ChatCompletionChunk], str, list[tuple[str, dict[str, Any]]]]:
    chunks: list[ChatCompletionChunk] = [chunk("", role="assistant")]
    text, tools = "", []
    for kind, value in segments:
        if kind == "text":
            chunks += [chunk(piece) for piece in value]
            text += "".join(value)
            continue
        name, arguments, pieces = value
        encoded = json.dumps(arguments)
        step = max(1, len(encoded) // pieces)
        index = len(tools)
        fragments = [encoded[i : i + step] for i in range(0, len(encoded), step)]
        chunks.append(
            chunk(tool_calls=[tool_call(index, id=f"call_{index}", name=name, arguments="")])
        )
        chunks += [chunk(tool_calls=[tool_call(index, arguments=f)]) for f in fragments]
        tools.append((name, arguments))
    chunks.append(chunk(finish_reason="tool_calls" if tools else "stop"))
    chunks.append(chunk(usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}))
    return chunks, text, tools


@settings(max_examples=60, deadline=None)
@given(st.lists(_SEGMENT, max_size=5))
def test_chunks_through_anthropic_events_and_back_keep_text_and_tool_calls(
    segments: list[tuple[str, Any]],
) -> None:
    chunks, text, tools = _chat_stream(segments)
    outbound = ChatChunksToEvents("m")
    events = [e for c in chunks for e in outbound.feed(c)] + outbound.finish()
    wire = [json.loads(json.dumps(e)) for e in events]
    back, stream = translate(wire)
    assert stream.finished

    completion = accumulate(back)
    message = completion.choices[0].message
    assert (message.content or "") == text
    calls = message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == tools
    assert completion.choices[0].finish_reason == ("tool_calls" if tools else "stop")
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 7)
