"""A real LLM upstream for tests, run in its own process, speaking three vendors' wire formats.

    python -m tests.support.upstream_server --port P [--record FILE] [--reply TEXT]

- OpenAI: ``POST /v1/chat/completions`` (JSON, or SSE when ``stream`` is true, with a usage chunk
  when ``stream_options.include_usage`` is set; ``tool_calls`` for the ``tool`` directive) and
  ``GET /v1/models``; ``POST /v1/embeddings`` (deterministic vectors, see ``embedding_for``);
  Azure OpenAI's ``POST /openai/deployments/{deployment}/chat/completions?api-version=...``
  (the same answers, with Azure's ``api-version`` and ``api-key`` required);
- Anthropic: ``POST /v1/messages``, see ``tests.support.upstream_anthropic``;
- Gemini: ``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse``,
  see ``tests.support.upstream_gemini``;
- ``GET /health``.

The answer is the reply text, one word per token: the request's token limit cuts it (finish
reason ``length``); usage counts words. The model is echoed as ``"upstream-" + model``.

The requested ``model`` name can ask for a behaviour, so one server covers the error paths:
``echo``, ``tool``, ``status-<code>``, ``sleep-<s>``, ``drip-<s>``, ``garbage``, ``stream-error``
and the fault directives (slow first byte, stalls, bursts of errors, connection resets,
malformed or truncated bodies, wrong content types, enormous answers). Every directive, and how
to combine them with ``+``, is described in ``tests.support.upstream_faults``.

With ``--record FILE`` every request is appended to FILE as one JSON line and flushed before the
answer is sent: ``{"kind": "request", "method", "path", "query", "headers": {authorization,
api-key, content-type, user-agent, x-*, anthropic-*}, "body": ...}``. Each stream also appends
``{"kind": "stream_end", "complete": bool, "tokens_sent": n, "user": <last user message>}`` when
it ends, so a test can see that a client disconnect reached the upstream.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import struct
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support import upstream_anthropic, upstream_gemini
from tests.support.upstream_common import (
    DEFAULT_REPLY,
    HUGE_MARKER,
    Answer,
    Recorder,
    UpstreamState,
    argument_pieces,
    make_answer,
    sse_data,
    tool_arguments,
    word_count,
)
from tests.support.upstream_faults import (
    HUGE_PIECE,
    Frames,
    TransportH11Protocol,
    caller_key,
    early_answer,
    huge_json,
    parse_faults,
    reset_midway,
    shape_stream,
)

__all__ = [
    "DEFAULT_REPLY",
    "EMBEDDING_DIMENSIONS",
    "Recorder",
    "create_app",
    "embedding_for",
    "main",
]

EMBEDDING_DIMENSIONS = 8
_MIB = 1 << 20


def create_app(reply: str = DEFAULT_REPLY, record: Path | None = None) -> Starlette:
    state = UpstreamState(reply=reply, recorder=Recorder(record))

    async def chat(request: Request) -> Response:
        body = await state.read_and_record(request)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "messages is required")
        model = str(body.get("model", ""))
        faults = parse_faults(model)
        stream = bool(body.get("stream"))
        early = await early_answer(
            faults,
            request,
            stream=stream,
            bursts=state.bursts,
            burst_key=("openai", model, caller_key(request, body.get("user"))),
            error=_error,
        )
        if early is not None:
            return early
        messages = body["messages"]
        user = _last_user_text(messages)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        answer = make_answer(faults, state.reply, user, limit, _prompt_tokens(messages))
        tool = _tool_call(body, state.next_id()) if faults.tool else None
        ident = f"chatcmpl-up-{state.next_id()}"
        meta = {"id": ident, "created": int(time.time()), "model": f"upstream-{model}"}
        if stream and not faults.no_sse:
            usage = answer if (body.get("stream_options") or {}).get("include_usage") else None
            frames = _frames(meta, answer, tool, usage)
            events = shape_stream(frames, faults, request.scope, state.stream_ended(user))
            return StreamingResponse(events, media_type="text/event-stream")
        document = _completion(meta, answer, tool)
        if faults.huge_mb is not None:
            return huge_json(document, HUGE_MARKER, faults.huge_mb)
        if faults.reset_after is not None:
            return reset_midway(json.dumps(document).encode(), request.scope)
        return JSONResponse(document)

    async def azure_chat(request: Request) -> Response:
        """Azure OpenAI's deployment URL: the ``api-version`` query parameter and the
        ``api-key`` header are required, as Azure requires them; then the same as chat."""
        if not request.query_params.get("api-version"):
            return _error(404, "Resource not found (no api-version query parameter)")
        if not request.headers.get("api-key"):
            return _error(401, "Access denied due to missing api-key header")
        return await chat(request)

    async def embeddings(request: Request) -> Response:
        """Vectors from the input text; the directives that act before an answer apply as for
        chat (a burst is counted apart from chat's), and ``huge-<mb>`` and ``reset-after-<n>``
        act on the body."""
        body = await state.read_and_record(request)
        texts = _embedding_inputs(body)
        if texts is None:
            return _error(400, "input must be a non-empty string or list of strings")
        assert isinstance(body, dict)
        model = str(body.get("model", ""))
        faults = parse_faults(model)
        early = await early_answer(
            faults,
            request,
            stream=False,
            bursts=state.bursts,
            burst_key=("openai-embeddings", model, caller_key(request, body.get("user"))),
            error=_error,
        )
        if early is not None:
            return early
        dimensions = body.get("dimensions") or EMBEDDING_DIMENSIONS
        if not isinstance(dimensions, int) or dimensions < 1:
            return _error(400, "dimensions must be a positive integer")
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {"object": "embedding", "index": i, "embedding": _encoded(text, dimensions, as_base64)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(word_count(text) for text in texts)
        document = {
            "object": "list",
            "data": data,
            "model": f"upstream-{model}",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        if faults.huge_mb is not None:
            return _huge_vector(document, faults.huge_mb)
        if faults.reset_after is not None:
            return reset_midway(json.dumps(document).encode(), request.scope)
        return JSONResponse(document)

    async def models(request: Request) -> Response:
        await state.read_and_record(request)
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": "upstream-test", "object": "model", "owned_by": "upstream"}],
            }
        )

    async def health(_: Request) -> Response:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.recorder.close()

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route(
                "/openai/deployments/{deployment}/chat/completions", azure_chat, methods=["POST"]
            ),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            *upstream_anthropic.routes(state),
            *upstream_gemini.routes(state),
        ],
        lifespan=lifespan,
    )


def embedding_for(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """The vector the server answers for ``text``: a pure function of the text, so a test can
    tell which input (or which placeholder) an upstream embedded, and in what order."""
    digest = hashlib.shake_256(text.encode()).digest(2 * dimensions)
    return [round(n / 32767.5 - 1.0, 6) for n in struct.unpack(f"<{dimensions}H", digest)]


def _encoded(text: str, dimensions: int, as_base64: bool) -> list[float] | str:
    vector = embedding_for(text, dimensions)
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()


def _embedding_inputs(body: Any) -> list[str] | None:
    """The texts to embed, or None when ``input`` is not a string or a list of strings."""
    value = body.get("input") if isinstance(body, dict) else None
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _huge_vector(document: dict[str, Any], mb: float) -> Response:
    """``document`` with its first vector grown to about ``mb`` MiB, sent piece by piece with
    its full ``Content-Length`` (so a client can refuse it before reading it)."""
    marker = "@@huge-vector@@"
    first = document["data"][0]
    grown = {**document, "data": [{**first, "embedding": marker}, *document["data"][1:]]}
    head, tail = json.dumps(grown).encode().split(json.dumps(marker).encode())
    item = b"0.5, "
    count = max(int(mb * _MIB) // len(item), 1)
    per_block = max(HUGE_PIECE // len(item), 1)
    length = len(head) + 1 + count * len(item) - 2 + 1 + len(tail)  # [items] without last ", "

    async def body() -> AsyncIterator[bytes]:
        yield head + b"["
        left = count
        while left > 0:
            n = min(per_block, left)
            left -= n
            block = item * n
            yield block if left else block[:-2]
        yield b"]" + tail

    return StreamingResponse(
        body(), media_type="application/json", headers={"content-length": str(length)}
    )


def _tool_call(body: dict[str, Any], number: int) -> dict[str, Any] | None:
    """The call the ``tool`` directive makes: the first offered function, schema-shaped args."""
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    function = tools[0].get("function") if isinstance(tools[0], dict) else None
    if not isinstance(function, dict):
        return None
    return {
        "id": f"call_up{number}",
        "type": "function",
        "name": str(function.get("name", "")),
        "arguments": tool_arguments(function.get("parameters")),
    }


def _usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def _finish(answer: Answer, tool: dict[str, Any] | None) -> str:
    if tool is not None:
        return "tool_calls"
    return "length" if answer.truncated else "stop"


def _completion(
    meta: Mapping[str, Any], answer: Answer, tool: dict[str, Any] | None
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if tool is not None:
        function = {"name": tool["name"], "arguments": json.dumps(tool["arguments"])}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": tool["id"], "type": "function", "function": function}],
        }
    return {
        "object": "chat.completion",
        **meta,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(answer, tool)}],
        "usage": _usage(answer),
    }


def _frames(
    meta: Mapping[str, Any], answer: Answer, tool: dict[str, Any] | None, usage: Answer | None
) -> Frames:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return sse_data({"object": "chat.completion.chunk", **meta, "choices": choices, **extra})

    def delta(content: dict[str, Any]) -> bytes:
        return chunk([{"index": 0, "delta": content, "finish_reason": None}])

    if tool is None:
        tokens = (delta({"content": piece}) for piece in answer.pieces)
    else:
        function = {"name": tool["name"], "arguments": ""}
        opening = {"index": 0, "id": tool["id"], "type": "function", "function": function}
        pieces = argument_pieces(tool["arguments"])
        calls = [opening, *({"index": 0, "function": {"arguments": p}} for p in pieces)]
        tokens = (delta({"tool_calls": [call]}) for call in calls)
    tail = [chunk([{"index": 0, "delta": {}, "finish_reason": _finish(answer, tool)}])]
    if usage is not None:
        tail.append(chunk([], usage=_usage(usage)))
    tail.append(b"data: [DONE]\n\n")
    error = {"message": "simulated mid-stream failure", "type": "server_error"}
    return Frames(
        head=[delta({"role": "assistant", "content": ""})],
        tokens=tokens,
        tail=tail,
        error=sse_data({"error": error}),
    )


def _text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message)
    return ""


def _prompt_tokens(messages: list[Any]) -> int:
    return sum(word_count(_text(m)) + 1 for m in messages)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": "upstream_test_error", "param": None, "code": None}},
        status_code=status,
        headers=dict(headers or {}),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, default=None, help="append requests to this file")
    parser.add_argument("--reply", default=DEFAULT_REPLY, help="the answer's text")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(reply=args.reply, record=args.record),
        host=args.host,
        port=args.port,
        http=TransportH11Protocol,  # the reset directives need the connection's transport
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
