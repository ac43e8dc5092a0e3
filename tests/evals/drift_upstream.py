"""An OpenAI-style upstream whose answers a test can change while it runs: a vendor that silently
changes its model behind an unchanged name.

    python -m tests.evals.drift_upstream --port P --answers FILE [--log FILE]

``FILE`` is JSON, read again on every request: ``{"answers": {prompt: answer}, "fingerprint":
str | null}``. A prompt (the last user message) not in ``answers`` is answered with itself. The
model is reported as ``"upstream-" + model``, as ``tests.support.upstream_server`` does. With
``--log``, each answered prompt is appended to that file as one JSON line before the answer.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


def write_answers(path: Path, answers: dict[str, str], fingerprint: str | None = "fp_a") -> None:
    """Replace the answers atomically (a request never reads half a file)."""
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps({"answers": answers, "fingerprint": fingerprint}))
    staging.replace(path)


def create_app(answers: Path, log: Path | None) -> Starlette:
    async def chat(request: Request) -> Response:
        body: Any = await request.json()
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list):
            return JSONResponse({"error": {"message": "messages is required"}}, status_code=400)
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        prompt = str(users[-1].get("content", "")) if users else ""
        state = _read(answers)
        text = state["answers"].get(prompt, prompt)
        if log is not None:
            _append(log, prompt)
        return JSONResponse(
            {
                "id": f"chatcmpl-{time.monotonic_ns()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": f"upstream-{body.get('model', '')}",
                "system_fingerprint": state.get("fingerprint"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": len(prompt.split()),
                    "completion_tokens": len(text.split()),
                    "total_tokens": len(prompt.split()) + len(text.split()),
                },
            }
        )

    async def health(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def _read(path: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def _append(log: Path, prompt: str) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"prompt": prompt}) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answers", type=Path, required=True)
    parser.add_argument("--log", type=Path, default=None)
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.answers, args.log),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
