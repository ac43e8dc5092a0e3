"""The Anthropic-shaped side of the test upstream: ``POST /v1/messages``.

A request needs an API key, in the ``x-api-key`` header or as ``Authorization: Bearer`` (how the
anthropic SDK sends it since 2.x; 401 ``authentication_error`` without) and an
``anthropic-version`` header (400 ``invalid_request_error`` without), and a body with ``model``,
``messages`` and an integer ``max_tokens``, as the real API does. Errors have Anthropic's shape,
``{"type": "error", "error": {"type", "message"}}``, with the type that goes with the status.

The answer is one message: text (stop reason ``end_turn``, or ``max_tokens`` when the limit cut
it), or for the ``tool`` directive with ``tools`` in the request, one ``tool_use`` block calling
the first tool (stop reason ``tool_use``). A stream sends the real event sequence:
``message_start``, ``content_block_start``, ``ping``, ``content_block_delta`` (``text_delta`` or
``input_json_delta``) per token, ``content_block_stop``, ``message_delta`` (stop reason and
usage), ``message_stop``; ``stream-error`` sends an ``error`` event. The fault directives of
``tests.support.upstream_faults`` apply as they do to the OpenAI side; a burst is counted per
``x-test-id`` header, else per ``metadata.user_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.upstream_common import (
    HUGE_MARKER,
    Answer,
    UpstreamState,
    argument_pieces,
    make_answer,
    sse_event,
    tool_arguments,
    word_count,
)
from tests.support.upstream_faults import (
    Frames,
    caller_key,
    early_answer,
    huge_json,
    parse_faults,
    reset_midway,
    shape_stream,
)

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def routes(state: UpstreamState) -> list[Route]:
    """The Anthropic routes, sharing the server's recorder, ids and burst counts."""

    async def messages(request: Request) -> Response:
        body = await state.read_and_record(request)
        if not _credential(request):
            return error(401, "x-api-key header is required")
        if not request.headers.get("anthropic-version"):
            return error(400, "anthropic-version: header is required")
        problem = _invalid(body)
        if problem:
            return error(400, problem)
        model = str(body["model"])
        faults = parse_faults(model)
        stream = bool(body.get("stream"))
        metadata = body.get("metadata")
        user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
        early = await early_answer(
            faults,
            request,
            stream=stream,
            bursts=state.bursts,
            burst_key=("anthropic", model, caller_key(request, user_id)),
            error=error,
        )
        if early is not None:
            return early
        user = _last_user_text(body["messages"])
        answer = make_answer(faults, state.reply, user, body["max_tokens"], _prompt_tokens(body))
        tool = _tool_use(body, state.next_id()) if faults.tool else None
        message = _message(f"msg_up{state.next_id()}", f"upstream-{model}", answer, tool)
        if stream and not faults.no_sse:
            frames = _frames(message, answer, tool)
            events = shape_stream(frames, faults, request.scope, state.stream_ended(user))
            return StreamingResponse(events, media_type="text/event-stream")
        if faults.huge_mb is not None:
            return huge_json(message, HUGE_MARKER, faults.huge_mb)
        if faults.reset_after is not None:
            return reset_midway(json.dumps(message).encode(), request.scope)
        return JSONResponse(message)

    return [Route("/v1/messages", messages, methods=["POST"])]


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """An Anthropic error body, typed by status."""
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return JSONResponse(
        {"type": "error", "error": {"type": kind, "message": message}},
        status_code=status,
        headers=dict(headers or {}),
    )


def _credential(request: Request) -> str:
    """The API key: ``x-api-key``, or a bearer token as the anthropic SDK sends it since 2.x."""
    bearer = request.headers.get("authorization", "")
    return request.headers.get("x-api-key") or bearer.removeprefix("Bearer ").strip()


def _invalid(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not isinstance(body.get("messages"), list):
        return "messages: Field required"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    return None


def _tool_use(body: dict[str, Any], number: int) -> dict[str, Any] | None:
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], dict):
        return None
    return {
        "type": "tool_use",
        "id": f"toolu_up{number}",
        "name": str(tools[0].get("name", "")),
        "input": tool_arguments(tools[0].get("input_schema")),
    }


def _stop_reason(answer: Answer, tool: dict[str, Any] | None) -> str:
    if tool is not None:
        return "tool_use"
    return "max_tokens" if answer.truncated else "end_turn"


def _message(ident: str, model: str, answer: Answer, tool: dict[str, Any] | None) -> dict[str, Any]:
    block = tool if tool is not None else {"type": "text", "text": answer.text}
    return {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [block],
        "stop_reason": _stop_reason(answer, tool),
        "stop_sequence": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": answer.completion_tokens},
    }


def _frames(message: dict[str, Any], answer: Answer, tool: dict[str, Any] | None) -> Frames:
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": 1},
    }
    if tool is None:
        block: dict[str, Any] = {"type": "text", "text": ""}
        deltas: Iterable[dict[str, Any]] = (
            {"type": "text_delta", "text": piece} for piece in answer.pieces
        )
    else:
        block = {**tool, "input": {}}
        deltas = (
            {"type": "input_json_delta", "partial_json": piece}
            for piece in argument_pieces(tool["input"])
        )
    tokens = (
        sse_event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
        for d in deltas
    )
    finish = {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(answer, tool), "stop_sequence": None},
        "usage": {"output_tokens": answer.completion_tokens},
    }
    failure = {"type": "overloaded_error", "message": "simulated mid-stream failure"}
    return Frames(
        head=[
            sse_event("message_start", {"type": "message_start", "message": start}),
            sse_event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            ),
            sse_event("ping", {"type": "ping"}),
        ],
        tokens=tokens,
        tail=[
            sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            sse_event("message_delta", finish),
            sse_event("message_stop", {"type": "message_stop"}),
        ],
        error=sse_event("error", {"type": "error", "error": failure}),
    )


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(
            str(b.get("text") or "")
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        )
    return content if isinstance(content, str) else ""


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _prompt_tokens(body: dict[str, Any]) -> int:
    system = word_count(_text(body.get("system")))
    turns = body["messages"]
    return system + sum(
        word_count(_text(m.get("content"))) + 1 for m in turns if isinstance(m, dict)
    )
