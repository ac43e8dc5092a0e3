"""Raw requests to the test upstream in each API's shape, and what a test needs to read back:
the tokens of a stream and the error that ended it, the upstream's records, whether a failure was
a TCP reset. One ``Api`` per wire format lets a fault test run against all three."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.processes import Upstream

OPENAI_KEY = "sk-test-openai"
ANTHROPIC_KEY = "sk-ant-test"
GOOGLE_KEY = "goog-test-key"


def record_with(up: Upstream, text: str) -> dict[str, Any]:
    """The one recorded request whose body contains ``text``."""
    [record] = [r for r in up.received() if text in json.dumps(r["body"])]
    return record


def stream_end_of(up: Upstream, text: str, wait: float = 5.0) -> dict[str, Any]:
    """The upstream's record of how the stream for ``text`` ended (it may lag the client)."""
    deadline = time.monotonic() + wait
    while True:
        ends = [r for r in up.stream_ends() if text in r["user"]]
        if ends or time.monotonic() > deadline:
            assert len(ends) == 1, f"{len(ends)} stream ends recorded for {text}"
            return ends[0]
        time.sleep(0.05)


def caused_by_reset(exc: BaseException) -> bool:
    """Whether a TCP reset (ECONNRESET) is somewhere in the exception's chain."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ConnectionResetError):
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass(frozen=True)
class Api:
    """One wire format: how to ask it for an answer and how to read its stream events."""

    name: str
    request: Callable[[str, bool, str], tuple[str, dict[str, str], dict[str, Any]]]
    token: Callable[[dict[str, Any]], str | None]  # the content of one stream event, if any
    ended: Callable[[list[str]], bool]  # whether the stream's end marker arrived


def openai_request(model: str, stream: bool, text: str) -> tuple[str, dict[str, str], Any]:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}
    return "/v1/chat/completions", {"authorization": f"Bearer {OPENAI_KEY}"}, body


def anthropic_request(model: str, stream: bool, text: str) -> tuple[str, dict[str, str], Any]:
    body = {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        "stream": stream,
    }
    headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    return "/v1/messages", headers, body


def gemini_request(model: str, stream: bool, text: str) -> tuple[str, dict[str, str], Any]:
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    return f"/v1beta/models/{model}:{method}", {"x-goog-api-key": GOOGLE_KEY}, body


def openai_token(event: dict[str, Any]) -> str | None:
    choices = event.get("choices") or [{}]
    content: str | None = choices[0].get("delta", {}).get("content")
    return content or None


def anthropic_token(event: dict[str, Any]) -> str | None:
    if event.get("type") != "content_block_delta":
        return None
    text: str | None = event["delta"].get("text")
    return text


def gemini_token(event: dict[str, Any]) -> str | None:
    parts = event.get("candidates", [{}])[0].get("content", {}).get("parts", [{}])
    text: str | None = parts[0].get("text")
    return text or None


OPENAI = Api("openai", openai_request, openai_token, lambda ls: "data: [DONE]" in ls)
ANTHROPIC = Api(
    "anthropic", anthropic_request, anthropic_token, lambda ls: "event: message_stop" in ls
)
GEMINI = Api(
    "gemini", gemini_request, gemini_token, lambda ls: any("finishReason" in x for x in ls)
)
APIS = (OPENAI, ANTHROPIC, GEMINI)


@dataclass
class StreamRead:
    """What one stream delivered before it ended, cleanly or not."""

    status: int
    content_type: str
    lines: list[str]
    tokens: list[str]
    error: httpx.HTTPError | None


def read_stream(
    http: httpx.Client, api: Api, model: str, text: str, timeout: float = 10.0
) -> StreamRead:
    """Everything a stream delivered, and the error that ended it, if one did."""
    path, headers, body = api.request(model, True, text)
    lines: list[str] = []
    tokens: list[str] = []
    with http.stream("POST", path, json=body, headers=headers, timeout=timeout) as response:
        try:
            for line in response.iter_lines():
                lines.append(line)
                if line.startswith("data: {"):
                    try:
                        token = api.token(json.loads(line[6:]))
                    except ValueError:
                        continue
                    if token:
                        tokens.append(token)
            error = None
        except httpx.HTTPError as exc:
            error = exc
        return StreamRead(
            response.status_code, response.headers["content-type"], lines, tokens, error
        )
