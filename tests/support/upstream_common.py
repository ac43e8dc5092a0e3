"""What the OpenAI-, Anthropic- and Gemini-shaped test upstreams share: the request recorder,
the per-server state, and the answer (text pieces, limits, tool arguments) before each API puts
it into its own wire format."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from starlette.requests import Request

from tests.support.upstream_faults import BurstCounter, Faults, huge_pieces

DEFAULT_REPLY = "Hello from the upstream."
DRIP_TOKENS = 1000
HUGE_MARKER = "@@huge-answer@@"
_RECORDED_PREFIXES = ("x-", "anthropic-")
_RECORDED_HEADERS = ("authorization", "api-key", "content-type", "user-agent")


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


@dataclass
class UpstreamState:
    """Everything one server process keeps between requests."""

    reply: str
    recorder: Recorder
    bursts: BurstCounter = field(default_factory=BurstCounter)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self.ids)

    async def read_and_record(self, request: Request) -> Any:
        """The request body (parsed JSON, else text), recorded before any answer is sent."""
        raw = await request.body()
        body: Any
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.recorder.write(
            {
                "kind": "request",
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": headers_of_interest(request),
                "body": body,
            }
        )
        return body

    def stream_ended(self, user: str) -> Callable[[bool, int], None]:
        """A callback recording how a stream ended, so tests see disconnects reach the upstream."""

        def record(complete: bool, tokens_sent: int) -> None:
            self.recorder.write(
                {
                    "kind": "stream_end",
                    "complete": complete,
                    "tokens_sent": tokens_sent,
                    "user": user,
                }
            )

        return record


def headers_of_interest(request: Request) -> dict[str, str]:
    return {
        name: value
        for name, value in request.headers.items()
        if name in _RECORDED_HEADERS or name.startswith(_RECORDED_PREFIXES)
    }


@dataclass
class Answer:
    """The reply before any wire format: ``pieces`` joined is the text (lazy for ``huge``)."""

    pieces: Iterable[str]
    text: str
    truncated: bool  # cut by the request's token limit
    prompt_tokens: int
    completion_tokens: int
    huge_mb: float | None = None


def make_answer(
    faults: Faults, reply: str, user_text: str, limit: object, prompt_tokens: int
) -> Answer:
    """One word per token, cut at ``limit``; ``drip`` repeats it to 1000 tokens."""
    if faults.huge_mb is not None:
        count = int(faults.huge_mb * (1 << 20)) // 6
        huge = huge_pieces(faults.huge_mb)
        return Answer(huge, HUGE_MARKER, False, prompt_tokens, count, faults.huge_mb)
    text = user_text if faults.echo else reply
    words = text.split(" ") if text else []
    if faults.drip is not None:
        words = ((words or ["tick"]) * (DRIP_TOKENS // max(len(words), 1) + 1))[:DRIP_TOKENS]
    truncated = False
    if isinstance(limit, int) and len(words) > limit:
        words, truncated = words[:limit], True
    pieces = [word if i == 0 else " " + word for i, word in enumerate(words)]
    return Answer(pieces, "".join(pieces), truncated, prompt_tokens, len(words))


def tool_arguments(schema: object) -> dict[str, Any]:
    """Arguments that satisfy a JSON schema's properties: one plain value of each type."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    return {name: _example(spec) for name, spec in properties.items()}


def _example(spec: object) -> Any:
    kind = spec.get("type") if isinstance(spec, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(kind, str):
        kind = kind.lower()  # Gemini schemas spell types in capitals
    if isinstance(spec, dict) and isinstance(spec.get("enum"), list) and spec["enum"]:
        return spec["enum"][0]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return tool_arguments(spec)
    return "example"


def argument_pieces(arguments: dict[str, Any], size: int = 10) -> list[str]:
    """The arguments' JSON in small pieces, as a model streams them."""
    encoded = json.dumps(arguments)
    return [encoded[i : i + size] for i in range(0, len(encoded), size)] or ["{}"]


def word_count(text: str) -> int:
    return len(text.split())


def sse_data(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def sse_event(name: str, payload: object) -> bytes:
    return f"event: {name}\n".encode() + sse_data(payload)
