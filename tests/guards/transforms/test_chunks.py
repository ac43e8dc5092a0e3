from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from zonegate.guards.transforms import ChunkRestorer, Pseudonyms
from zonegate.wire.openai_chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    FunctionCall,
    ToolCall,
    Usage,
)

A = "alice@example.com"
CARD = "4111 1111 1111 1111"
TRICKY = 'pa"ss\\word'
PSEUDONYMS = Pseudonyms({"<EMAIL_1>": A, "<PAYMENT_CARD_1>": CARD, "<SECRET_1>": TRICKY})
TEXT = "To <EMAIL_1>: card <PAYMENT_CARD_1>. <EM"
RESTORED = f"To {A}: card {CARD}. <EM"


def chunk(*choices: ChunkChoice, usage: Usage | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk(
        id="chatcmpl-1", created=1, model="up", choices=list(choices), usage=usage
    )


def text_choice(content: str | None, index: int = 0, finish: str | None = None) -> ChunkChoice:
    return ChunkChoice(index=index, delta=Delta(content=content), finish_reason=finish)


def call_choice(
    calls: list[dict[str, Any]], index: int = 0, finish: str | None = None
) -> ChunkChoice:
    return ChunkChoice(index=index, delta=Delta(tool_calls=calls), finish_reason=finish)


def contents(chunks: list[ChatCompletionChunk], index: int = 0) -> str:
    return "".join(c.delta.content or "" for ch in chunks for c in ch.choices if c.index == index)


def arguments(chunks: list[ChatCompletionChunk], index: int = 0) -> dict[int, str]:
    out: dict[int, str] = {}
    for ch in chunks:
        for c in ch.choices:
            if c.index != index:
                continue
            for call in c.delta.tool_calls or ():
                function = call.get("function") or {}
                out[call["index"]] = out.get(call["index"], "") + function.get("arguments", "")
    return out


def split(text: str, points: tuple[int, ...]) -> list[str]:
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


# --- whole completions ------------------------------------------------------------------------


def completion() -> ChatCompletion:
    return ChatCompletion(
        id="chatcmpl-1",
        created=1,
        model="up",
        choices=[
            Choice(
                index=0,
                message=AssistantMessage.model_validate(
                    {"content": "Hello <EMAIL_1>", "refusal": "not <PAYMENT_CARD_1>"}
                ),
                finish_reason="stop",
            ),
            Choice(
                index=1,
                message=AssistantMessage(
                    content=None,
                    tool_calls=[
                        ToolCall(
                            id="call_1",
                            function=FunctionCall(
                                name="login", arguments='{"user": "<EMAIL_1>", "pw": "<SECRET_1>"}'
                            ),
                        )
                    ],
                ),
                finish_reason="tool_calls",
            ),
        ],
        usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7),
    )


def test_restore_completion_restores_every_choice() -> None:
    original = completion()
    before = original.model_dump()
    restored = PSEUDONYMS.restore_completion(original)
    assert original.model_dump() == before
    first, second = restored.choices
    assert first.message.content == f"Hello {A}"
    assert first.message.model_extra == {"refusal": f"not {CARD}"}
    assert second.message.tool_calls is not None
    call = second.message.tool_calls[0]
    assert (call.id, call.function.name) == ("call_1", "login")
    assert json.loads(call.function.arguments) == {"user": A, "pw": TRICKY}
    assert restored.usage == original.usage
    json.loads(restored.model_dump_json(exclude_none=True))


def test_restore_completion_can_escape_json_content() -> None:
    c = ChatCompletion(
        id="x",
        created=1,
        model="up",
        choices=[Choice(message=AssistantMessage(content='{"pw": "<SECRET_1>"}'))],
    )
    restored = PSEUDONYMS.restore_completion(c, json_content=True)
    assert json.loads(restored.choices[0].message.content or "") == {"pw": TRICKY}


def test_without_pseudonyms_a_completion_is_returned_as_is() -> None:
    c = completion()
    assert Pseudonyms({}).restore_completion(c) is c


# --- streamed content -------------------------------------------------------------------------


def run(
    pieces: list[str], finish: str | None = "stop"
) -> tuple[list[ChatCompletionChunk], ChunkRestorer]:
    restorer = PSEUDONYMS.chunk_restorer()
    out = []
    for piece in pieces:
        out.append(restorer.restore(chunk(text_choice(piece))))
        assert restorer.held <= PSEUDONYMS.max_hold
    out.append(restorer.restore(chunk(text_choice(None, finish=finish))))
    return out, restorer


def test_every_pair_of_split_points_restores_content() -> None:
    for i, j in itertools.combinations_with_replacement(range(len(TEXT) + 1), 2):
        out, restorer = run(split(TEXT, (i, j)))
        assert contents(out) == RESTORED, (i, j)
        assert restorer.flush() == []


def test_the_tail_is_released_in_the_chunk_that_finishes_the_choice() -> None:
    out, restorer = run(list(TEXT))
    assert out[-1].choices[0].finish_reason == "stop"
    assert out[-1].choices[0].delta.content == "<EM"
    assert restorer.held == 0


def test_chunks_stay_valid_and_keep_their_other_fields() -> None:
    restorer = PSEUDONYMS.chunk_restorer()
    first = chunk(ChunkChoice(delta=Delta(role="assistant", content="<EMA")))
    out = restorer.restore(first)
    assert out.choices[0].delta.role == "assistant"
    assert out.choices[0].delta.content == ""
    assert (out.id, out.model, out.created) == ("chatcmpl-1", "up", 1)
    assert first.choices[0].delta.content == "<EMA"
    ChatCompletionChunk.model_validate_json(out.model_dump_json(exclude_none=True))


def test_a_usage_only_chunk_passes_through() -> None:
    restorer = PSEUDONYMS.chunk_restorer()
    usage_chunk = chunk(usage=Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3))
    assert restorer.restore(usage_chunk) is usage_chunk


def test_flush_releases_what_unfinished_choices_hold() -> None:
    restorer = PSEUDONYMS.chunk_restorer()
    restorer.restore(chunk(text_choice("a <PAYMENT_CARD"), text_choice("b <EMAIL_1", index=1)))
    restorer.restore(
        chunk(call_choice([{"index": 0, "function": {"arguments": '{"x": "<SEC'}}], index=1))
    )
    (tail,) = restorer.flush()
    assert (tail.id, tail.model, tail.usage) == ("chatcmpl-1", "up", None)
    assert contents([tail]) == "<PAYMENT_CARD"
    assert contents([tail], 1) == "<EMAIL_1"
    assert arguments([tail], 1) == {0: "<SEC"}
    assert all(c.finish_reason is None for c in tail.choices)
    assert restorer.flush() == []


def test_flush_before_any_chunk_is_empty() -> None:
    assert PSEUDONYMS.chunk_restorer().flush() == []


def test_json_content_streams_escaped_values() -> None:
    restorer = PSEUDONYMS.chunk_restorer(json_content=True)
    text = '{"pw": "<SECRET_1>"}'
    out = [restorer.restore(chunk(text_choice(ch))) for ch in text]
    out.append(restorer.restore(chunk(text_choice(None, finish="stop"))))
    assert json.loads(contents(out)) == {"pw": TRICKY}


def test_other_text_fields_of_a_delta_are_restored() -> None:
    restorer = PSEUDONYMS.chunk_restorer()
    pieces = ["thinking of <EMA", "IL_1> now"]
    out = [
        restorer.restore(chunk(ChunkChoice(delta=Delta.model_validate({"reasoning_content": p}))))
        for p in pieces
    ]
    assert "".join((c.choices[0].delta.model_extra or {})["reasoning_content"] for c in out) == (
        f"thinking of {A} now"
    )


# --- streamed tool calls ----------------------------------------------------------------------


def test_tool_call_arguments_split_anywhere_are_restored_as_valid_json() -> None:
    args = '{"user": "<EMAIL_1>", "pw": "<SECRET_1>"}'
    for i, j in itertools.combinations_with_replacement(range(len(args) + 1), 2):
        restorer = PSEUDONYMS.chunk_restorer()
        head = {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "login", "arguments": ""},
        }
        out = [restorer.restore(chunk(call_choice([head])))]
        for piece in split(args, (i, j)):
            out.append(
                restorer.restore(
                    chunk(call_choice([{"index": 0, "function": {"arguments": piece}}]))
                )
            )
        out.append(restorer.restore(chunk(call_choice([], finish="tool_calls"))))
        assert json.loads(arguments(out)[0]) == {"user": A, "pw": TRICKY}, (i, j)
        assert out[0].choices[0].delta.tool_calls == [head]


def test_parallel_tool_calls_and_choices_are_kept_apart() -> None:
    restorer = PSEUDONYMS.chunk_restorer()
    out = []
    streams = {
        (0, 0): '{"a": "<EMAIL_1>"}',
        (0, 1): '{"b": "<PAYMENT_CARD_1>"}',
        (1, 0): '{"c": "<SECRET_1>"}',
    }
    longest = max(len(v) for v in streams.values())
    for k in range(longest):
        choices = []
        for choice in (0, 1):
            calls = [
                {"index": call, "function": {"arguments": text[k]}}
                for (c, call), text in streams.items()
                if c == choice and k < len(text)
            ]
            choices.append(call_choice(calls, index=choice))
        out.append(restorer.restore(chunk(*choices)))
    out.append(
        restorer.restore(
            chunk(call_choice([], 0, finish="tool_calls"), call_choice([], 1, finish="tool_calls"))
        )
    )
    assert {k: json.loads(v) for k, v in arguments(out, 0).items()} == {0: {"a": A}, 1: {"b": CARD}}
    assert {k: json.loads(v) for k, v in arguments(out, 1).items()} == {0: {"c": TRICKY}}


def test_input_chunks_are_not_mutated() -> None:
    restorer = PSEUDONYMS.chunk_restorer()
    calls = [{"index": 0, "function": {"arguments": '"<EMAIL_1>"'}}]
    original = chunk(call_choice(calls, finish="tool_calls"))
    before = copy.deepcopy(original.model_dump())
    restored = restorer.restore(original)
    assert original.model_dump() == before
    assert arguments([restored]) == {0: f'"{A}"'}


def test_the_chunk_restorer_repr_shows_no_values() -> None:
    restorer = PSEUDONYMS.chunk_restorer()
    restorer.restore(chunk(text_choice("<EMAIL_1> and <PAYM")))
    assert repr(restorer) == "ChunkRestorer(1 streams, holding 5 chars)"


def test_content_in_the_finishing_chunk_is_released_with_the_tail() -> None:
    restorer = PSEUDONYMS.chunk_restorer()
    assert restorer.restore(chunk(text_choice("a <EMAI"))).choices[0].delta.content == "a "
    last = restorer.restore(chunk(text_choice("L_1> b <PAY", finish="stop"), text_choice("x", 1)))
    assert last.choices[0].delta.content == f"{A} b <PAY"
    assert last.choices[1].delta.content == "x"
    assert restorer.held == 0
