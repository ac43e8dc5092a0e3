"""The Gemini-shaped side of the test upstream (the Generative Language API, ``v1beta``; the
same routes answer under ``v1``, the version recent google-genai releases use by default).

- ``POST /v1beta/models/{model}:generateContent``: one ``GenerateContentResponse``;
- ``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``: server-sent events, each
  ``data:`` one ``GenerateContentResponse`` with one token; the last carries ``finishReason``
  (``STOP``, or ``MAX_TOKENS`` when ``generationConfig.maxOutputTokens`` cut the answer) and the
  full ``usageMetadata``. Without ``alt=sse`` the answer is 400 (this upstream streams only SSE).

The API key comes in the ``x-goog-api-key`` header or the ``key`` query parameter; without one
the answer is 403 ``PERMISSION_DENIED``, as Google answers unregistered callers. Errors have
Google's shape, ``{"error": {"code", "message", "status"}}``. For the ``tool`` directive with
``tools[].functionDeclarations`` in the request, the answer is a ``functionCall`` part calling the
first function. The fault directives of ``tests.support.upstream_faults`` apply as on the OpenAI
side (``stream-error`` sends ``data: {"error": ...}``); a burst is counted per ``x-test-id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.upstream_common import (
    HUGE_MARKER,
    Answer,
    UpstreamState,
    make_answer,
    sse_data,
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

_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_METHODS = ("generateContent", "streamGenerateContent")


def routes(state: UpstreamState) -> list[Route]:
    """The Gemini routes, sharing the server's recorder, ids and burst counts."""

    async def models(request: Request) -> Response:
        body = await state.read_and_record(request)
        model, _, method = request.path_params["target"].rpartition(":")
        if method not in _METHODS or not model:
            return error(404, f"method {method!r} is not served; use one of {_METHODS}")
        if not (request.headers.get("x-goog-api-key") or request.query_params.get("key")):
            return error(
                403,
                "Method doesn't allow unregistered callers: send the x-goog-api-key header "
                "or the key query parameter",
            )
        stream = method == "streamGenerateContent"
        if stream and request.query_params.get("alt") != "sse":
            return error(400, "this upstream streams only server-sent events: add ?alt=sse")
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return error(400, "contents is required")
        faults = parse_faults(model)
        early = await early_answer(
            faults,
            request,
            stream=stream,
            bursts=state.bursts,
            burst_key=("gemini", model, caller_key(request)),
            error=error,
        )
        if early is not None:
            return early
        contents = body["contents"]
        user = _last_user_text(contents)
        config = body.get("generationConfig")
        limit = config.get("maxOutputTokens") if isinstance(config, dict) else None
        answer = make_answer(faults, state.reply, user, limit, _prompt_tokens(body))
        call = _function_call(body) if faults.tool else None
        meta = {"modelVersion": f"upstream-{model}", "responseId": f"resp-up{state.next_id()}"}
        if stream and not faults.no_sse:
            frames = _frames(meta, answer, call)
            events = shape_stream(frames, faults, request.scope, state.stream_ended(user))
            return StreamingResponse(events, media_type="text/event-stream")
        parts = [{"functionCall": call}] if call else [{"text": answer.text}]
        document = _response(meta, parts, _finish(answer), _usage(answer, final=True))
        if faults.huge_mb is not None:
            return huge_json(document, HUGE_MARKER, faults.huge_mb)
        if faults.reset_after is not None:
            return reset_midway(json.dumps(document).encode(), request.scope)
        return JSONResponse(document)

    return [
        Route("/v1beta/models/{target}", models, methods=["POST"]),
        Route("/v1/models/{target}", models, methods=["POST"]),  # google-genai's default version
    ]


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """A Google API error body, with the canonical status name that goes with the HTTP status."""
    name = _STATUSES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": name}},
        status_code=status,
        headers=dict(headers or {}),
    )


def _function_call(body: dict[str, Any]) -> dict[str, Any] | None:
    for tool in body.get("tools") or []:
        declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        for declaration in declarations or []:
            if isinstance(declaration, dict):
                schema = declaration.get("parameters") or declaration.get("parametersJsonSchema")
                return {"name": str(declaration.get("name", "")), "args": tool_arguments(schema)}
    return None


def _finish(answer: Answer) -> str:
    return "MAX_TOKENS" if answer.truncated else "STOP"


def _usage(answer: Answer, *, final: bool) -> dict[str, int]:
    if not final:
        return {"promptTokenCount": answer.prompt_tokens, "totalTokenCount": answer.prompt_tokens}
    return {
        "promptTokenCount": answer.prompt_tokens,
        "candidatesTokenCount": answer.completion_tokens,
        "totalTokenCount": answer.prompt_tokens + answer.completion_tokens,
    }


def _response(
    meta: Mapping[str, str], parts: list[dict[str, Any]], finish: str | None, usage: dict[str, int]
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": usage, **meta}


def _frames(meta: Mapping[str, str], answer: Answer, call: dict[str, Any] | None) -> Frames:
    running = _usage(answer, final=False)
    if call is None:
        tokens = (
            sse_data(_response(meta, [{"text": piece}], None, running)) for piece in answer.pieces
        )
    else:
        tokens = (sse_data(_response(meta, [{"functionCall": c}], None, running)) for c in [call])
    last = _response(meta, [{"text": ""}], _finish(answer), _usage(answer, final=True))
    failure = {"code": 500, "message": "simulated mid-stream failure", "status": "INTERNAL"}
    return Frames(head=[], tokens=tokens, tail=[sse_data(last)], error=sse_data({"error": failure}))


def _parts_text(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return ""
    return " ".join(str(p["text"]) for p in parts if isinstance(p, dict) and "text" in p)


def _last_user_text(contents: list[Any]) -> str:
    for content in reversed(contents):
        if isinstance(content, dict) and content.get("role", "user") == "user":
            return _parts_text(content)
    return ""


def _prompt_tokens(body: dict[str, Any]) -> int:
    system = word_count(_parts_text(body.get("systemInstruction")))
    return system + sum(word_count(_parts_text(c)) + 1 for c in body["contents"])
