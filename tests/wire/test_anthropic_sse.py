"""Chat completion chunks as an Anthropic event stream, judged by the ``anthropic`` SDK: every
event validates as its ``RawMessageStreamEvent``, and the SDK's own stream reader rebuilds the
final message (text, tool inputs from ``input_json_delta`` fragments, stop reason, usage) from
the SSE bytes."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2 as httpx
import pytest
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from tests.wire.anthropic_sdk import FakeGateway, chunk, sdk_client, tool_call
from zonegate.errors import UpstreamError
from zonegate.wire.anthropic_sse import PING, ChatChunksToEvents, encode_event, error_event
from zonegate.wire.openai_chat import ChatCompletionChunk

SDK_EVENT: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
USAGE = {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}


def events_for(chunks: list[ChatCompletionChunk], **kwargs: Any) -> list[dict[str, Any]]:
    stream = ChatChunksToEvents("support-summary", **kwargs)
    events = [event for c in chunks for event in stream.feed(c)] + stream.finish()
    for event in events:
        assert SDK_EVENT.validate_python(event).type == event["type"]
    return events


def kinds(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for event in events:
        kind = event["type"]
        if kind == "content_block_start":
            kind += f":{event['content_block']['type']}"
        elif kind == "content_block_delta":
            kind += f":{event['delta']['type']}"
        out.append(kind)
    return out


def final_message(chunks: list[ChatCompletionChunk]) -> tuple[anthropic.types.Message, str]:
    """What the SDK's stream helper makes of the gateway's SSE for ``chunks``."""
    gateway = FakeGateway(lambda _: chunks)
    with (
        gateway.client() as client,
        client.messages.stream(
            model="support-summary", max_tokens=64, messages=[{"role": "user", "content": "Go"}]
        ) as stream,
    ):
        text = "".join(stream.text_stream)
        return stream.get_final_message(), text


def test_a_text_stream_is_one_text_block_the_sdk_reassembles() -> None:
    chunks = [
        chunk("", role="assistant"),
        chunk("Bon"),
        chunk("jour"),
        chunk(" !", finish_reason="stop"),
        chunk(usage=USAGE),
    ]
    events = events_for(chunks)
    assert kinds(events) == [
        "message_start",
        "content_block_start:text",
        "content_block_delta:text_delta",
        "content_block_delta:text_delta",
        "content_block_delta:text_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0]["message"]["id"] == "msg_s1"
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    assert events[-2]["usage"] == {"input_tokens": 21, "output_tokens": 9}

    message, text = final_message(chunks)
    assert text == "Bonjour !"
    assert [b.text for b in message.content if b.type == "text"] == ["Bonjour !"]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (21, 9)
    assert message.model == "support-summary"


def test_streamed_tool_calls_become_tool_use_blocks_with_their_input() -> None:
    chunks = [
        chunk("Let me check."),
        chunk(tool_calls=[tool_call(0, id="call_a", name="get_weather", arguments="")]),
        chunk(tool_calls=[tool_call(0, arguments='{"ci')]),
        chunk(tool_calls=[tool_call(0, arguments='ty": "Par')]),
        chunk(tool_calls=[tool_call(0, arguments='is"}')]),
        chunk(tool_calls=[tool_call(1, id="call_b", name="get_time", arguments='{"tz": "CET"}')]),
        chunk(finish_reason="tool_calls"),
        chunk(usage=USAGE),
    ]
    events = events_for(chunks)
    assert kinds(events) == [
        "message_start",
        "content_block_start:text",
        "content_block_delta:text_delta",
        "content_block_stop",
        "content_block_start:tool_use",
        "content_block_delta:input_json_delta",
        "content_block_delta:input_json_delta",
        "content_block_delta:input_json_delta",
        "content_block_stop",
        "content_block_start:tool_use",
        "content_block_delta:input_json_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert [e["index"] for e in events if e["type"] == "content_block_start"] == [0, 1, 2]

    message, text = final_message(chunks)
    assert text == "Let me check."
    tools = [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]
    assert tools == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_time", {"tz": "CET"}),
    ]
    assert message.stop_reason == "tool_use"


def test_a_tool_call_whose_name_comes_later_opens_once_named() -> None:
    chunks = [
        chunk(tool_calls=[tool_call(0, id="call_x")]),
        chunk(tool_calls=[tool_call(0, arguments='{"q": ')]),
        chunk(tool_calls=[tool_call(0, name="search", arguments='"zonegate"}')]),
        chunk(tool_calls=[tool_call(0, arguments="")]),
        chunk(finish_reason="stop"),
    ]
    events = events_for(chunks)
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert starts == [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "call_x", "name": "search", "input": {}},
        }
    ]
    partial = "".join(
        e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta"
    )
    assert json.loads(partial) == {"q": "zonegate"}
    assert events[-2]["delta"]["stop_reason"] == "tool_use"  # "stop" with a tool call


def test_a_tool_call_without_an_id_gets_one() -> None:
    events = events_for([chunk(tool_calls=[{"function": {"name": "now", "arguments": "{}"}}])])
    block = events[1]["content_block"]
    assert block["id"].startswith("toolu_")
    assert block["name"] == "now"


def test_text_after_a_tool_call_opens_a_new_text_block() -> None:
    chunks = [
        chunk(tool_calls=[tool_call(0, id="c", name="f", arguments="{}")]),
        chunk("done"),
        chunk(finish_reason="length"),
    ]
    events = events_for(chunks)
    assert kinds(events)[1:6] == [
        "content_block_start:tool_use",
        "content_block_delta:input_json_delta",
        "content_block_stop",
        "content_block_start:text",
        "content_block_delta:text_delta",
    ]
    assert events[-2]["delta"]["stop_reason"] == "max_tokens"


@pytest.mark.parametrize(
    "chunks",
    [
        [chunk(tool_calls=[tool_call(0, id="c")])],
        [chunk(tool_calls=[tool_call(0, id="c")]), chunk("text")],
        [chunk(tool_calls=[tool_call(0, id="c")]), chunk(tool_calls=[tool_call(1, id="d")])],
    ],
)
def test_a_tool_call_that_never_gets_a_name_is_an_upstream_error(
    chunks: list[ChatCompletionChunk],
) -> None:
    with pytest.raises(UpstreamError) as caught:
        events_for(chunks)
    assert "without a function name" in caught.value.message
    assert caught.value.code == "upstream_bad_response"


def test_interleaved_tool_call_fragments_are_an_upstream_error() -> None:
    stream = ChatChunksToEvents("m")
    stream.feed(chunk(tool_calls=[tool_call(0, id="a", name="f", arguments="{")]))
    stream.feed(chunk(tool_calls=[tool_call(1, id="b", name="g", arguments="{}")]))
    with pytest.raises(UpstreamError) as caught:
        stream.feed(chunk(tool_calls=[tool_call(0, arguments="}")]))
    assert "interleaved" in caught.value.message


def test_a_refusal_delta_streams_as_text() -> None:
    events = events_for([chunk(refusal="I can't help."), chunk(finish_reason="content_filter")])
    assert events[2]["delta"] == {"type": "text_delta", "text": "I can't help."}
    assert events[-2]["delta"]["stop_reason"] == "refusal"


def test_only_the_first_choice_is_streamed() -> None:
    events = events_for([chunk("other choice", index=1), chunk("mine", finish_reason="stop")])
    texts = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert texts == ["mine"]


def test_an_empty_stream_still_starts_and_stops() -> None:
    events = events_for([])
    assert kinds(events) == ["message_start", "message_delta", "message_stop"]
    assert events[0]["message"]["id"].startswith("msg_")
    assert events[1]["usage"] == {"output_tokens": 0}
    assert events[1]["delta"]["stop_reason"] == "end_turn"


def test_start_can_come_first_and_is_sent_once() -> None:
    stream = ChatChunksToEvents("m", message_id="msg_fixed", input_tokens=17)
    first = stream.start()
    assert first[0]["message"]["id"] == "msg_fixed"
    assert first[0]["message"]["usage"] == {"input_tokens": 17, "output_tokens": 0}
    assert stream.start() == []
    assert [e["type"] for e in stream.feed(chunk("x"))] == [
        "content_block_start",
        "content_block_delta",
    ]


def test_nothing_follows_finish() -> None:
    stream = ChatChunksToEvents("m")
    assert stream.finish()[-1] == {"type": "message_stop"}
    assert stream.finish() == []
    assert stream.feed(chunk("late")) == []


def test_cached_tokens_are_reported_apart_in_the_final_usage() -> None:
    usage = {**USAGE, "prompt_tokens_details": {"cached_tokens": 20}}
    events = events_for([chunk("x", finish_reason="stop", usage=usage)])
    assert events[-2]["usage"] == {
        "input_tokens": 1,
        "output_tokens": 9,
        "cache_read_input_tokens": 20,
    }


def test_events_are_framed_as_named_sse_events() -> None:
    frame = encode_event(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "é\n"}}
    )
    assert (
        frame
        == (
            'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            '"delta":{"type":"text_delta","text":"é\\n"}}\n\n'
        ).encode()
    )


def test_the_keep_alive_is_anthropic_s_ping_event() -> None:
    assert encode_event({"type": "ping"}) == PING


def test_an_error_event_ends_the_stream_and_the_sdk_raises_it() -> None:
    frame = error_event(529, "the upstream is overloaded")
    assert frame.startswith(b"event: error\ndata: ")
    assert json.loads(frame.split(b"data: ", 1)[1]) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "the upstream is overloaded"},
    }
    stream = ChatChunksToEvents("m")
    body = PING + b"".join(encode_event(e) for e in stream.feed(chunk("partial"))) + PING + frame

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with sdk_client(handler) as client:
        events = client.messages.create(
            model="m", max_tokens=5, stream=True, messages=[{"role": "user", "content": "x"}]
        )
        with pytest.raises(anthropic.APIStatusError) as caught:
            list(events)
    assert "the upstream is overloaded" in str(caught.value)
