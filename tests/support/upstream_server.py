"""A real OpenAI-compatible upstream for tests, run in its own process.

    python -m tests.support.upstream_server --port P [--record FILE] [--reply TEXT]

Serves ``POST /v1/chat/completions`` (JSON, or SSE when ``stream`` is true, with a usage chunk
when ``stream_options.include_usage`` is set), ``GET /v1/models`` and ``GET /health``. The answer
is the reply text, one word per token: ``max_tokens`` / ``max_completion_tokens`` cut it (finish
reason ``length``); usage counts words. The model is echoed as ``"upstream-" + model``.

The requested ``model`` name can ask for a behaviour, so one server covers the error paths:

- ``echo``: reply with the text of the last user message;
- ``status-<code>``: answer HTTP <code> with an OpenAI-shaped error body;
- ``sleep-<seconds>``: wait that long before answering;
- ``drip-<seconds>``: stream 1000 tokens, waiting that long before each one;
- ``garbage``: answer 200 with a body that is neither JSON nor server-sent events;
- ``stream-error``: stream one token, then an error event (``data: {"error": ...}``).

With ``--record FILE`` every request is appended to FILE as one JSON line and flushed before the
answer is sent: ``{"kind": "request", "method", "path", "headers": {authorization, content-type,
x-*}, "body": ...}``. Each stream also appends ``{"kind": "stream_end", "complete": bool,
"tokens_sent": n, "user": <last user message>}`` when it ends, so a test can see that a client
disconnect reached the upstream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_REPLY = "Hello from the upstream."
_DIRECTIVE = re.compile(r"^(status|sleep|drip)-(\d+(?:\.\d+)?)$")
_DRIP_TOKENS = 1000


class Recorder:
    """Appends one JSON line per event to a file, flushed at once (tests read it concurrently)."""

    def __init__(self, path: Path | None) -> None:
        self._fh: IO[str] | None = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps(record) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def create_app(reply: str = DEFAULT_REPLY, record: Path | None = None) -> Starlette:
    recorder = Recorder(record)
    counter = iter(range(1, 1 << 62))

    async def chat(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        recorder.write(
            {
                "kind": "request",
                "method": request.method,
                "path": request.url.path,
                "headers": _headers_of_interest(request),
                "body": body,
            }
        )
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "messages is required")
        model = str(body.get("model", ""))
        directive = _DIRECTIVE.match(model)
        kind, amount = (directive.group(1), float(directive.group(2))) if directive else ("", 0.0)
        if kind == "sleep":
            await asyncio.sleep(amount)
        if kind == "status":
            return _error(int(amount), f"simulated upstream failure (HTTP {int(amount)})")
        if model == "garbage":
            return Response(b"<html>this is not JSON", media_type="application/json")

        text = _last_user_text(body["messages"]) if model == "echo" else reply
        words = text.split(" ") if text else []
        if kind == "drip":
            words = (words or ["tick"]) * (_DRIP_TOKENS // max(len(words), 1) + 1)
            words = words[:_DRIP_TOKENS]
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and len(words) > limit:
            words, finish = words[:limit], "length"
        usage = {
            "prompt_tokens": _prompt_tokens(body["messages"]),
            "completion_tokens": len(words),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        ident = f"chatcmpl-up-{next(counter)}"
        served = f"upstream-{model}"
        created = int(time.time())
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": served,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": " ".join(words)},
                            "finish_reason": finish,
                        }
                    ],
                    "usage": usage,
                }
            )
        options = body.get("stream_options") or {}
        events = _sse(
            recorder,
            _last_user_text(body["messages"]),
            ident,
            created,
            served,
            words,
            finish,
            usage if options.get("include_usage") else None,
            amount if kind == "drip" else 0.0,
            fail_after=1 if model == "stream-error" else None,
        )
        return StreamingResponse(events, media_type="text/event-stream")

    async def models(request: Request) -> Response:
        recorder.write(
            {
                "kind": "request",
                "method": request.method,
                "path": request.url.path,
                "headers": _headers_of_interest(request),
                "body": None,
            }
        )
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
            recorder.close()

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _sse(
    recorder: Recorder,
    user: str,
    ident: str,
    created: int,
    model: str,
    words: list[str],
    finish: str,
    usage: dict[str, int] | None,
    delay: float,
    fail_after: int | None = None,
) -> AsyncIterator[bytes]:
    sent = 0
    complete = False

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **extra,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    try:
        yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}}])
        for i, word in enumerate(words):
            if delay:
                await asyncio.sleep(delay)
            piece = word if i == 0 else " " + word
            yield event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
            sent += 1
            if sent == fail_after:
                error = {"message": "simulated mid-stream failure", "type": "server_error"}
                yield b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
                return
        yield event([{"index": 0, "delta": {}, "finish_reason": finish}])
        if usage is not None:
            yield event([], usage=usage)
        yield b"data: [DONE]\n\n"
        complete = True
    finally:
        recorder.write(
            {"kind": "stream_end", "complete": complete, "tokens_sent": sent, "user": user}
        )


def _headers_of_interest(request: Request) -> dict[str, str]:
    return {
        name: value
        for name, value in request.headers.items()
        if name in ("authorization", "content-type", "user-agent") or name.startswith("x-")
    }


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
    return sum(len(_text(m).split()) + 1 for m in messages)


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": "upstream_test_error", "param": None, "code": None}},
        status_code=status,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, default=None, help="append requests to this file")
    parser.add_argument("--reply", default=DEFAULT_REPLY, help="the answer's text")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(reply=args.reply, record=args.record),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
