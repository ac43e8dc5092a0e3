"""Fault directives for the test upstreams, chosen by the requested model name.

A model name is one or more parts joined by ``+``. Each part that has one of the forms below
switches a behaviour on; any other part is ignored, so ``gpt-4o-mini`` is an ordinary model and
``burst-503-2+ttft-1`` fails twice, then streams with a slow first token. ``<s>`` is seconds (a
decimal number), ``<n>`` a whole number, ``<code>`` an HTTP status. A stream's *tokens* are its
content frames: text deltas, tool argument pieces, or the pieces of a ``huge`` answer.

Answers:

- ``echo``: the answer is the text of the last user message instead of the reply text;
- ``tool``: when the request offers tools, call the first one (arguments made from its schema).

Before any answer:

- ``sleep-<s>``, ``firstbyte-<s>``: nothing at all on the wire, not even the status line, for s;
- ``reset``: abort the TCP connection with a reset (RST) once the request is read;
- ``status-<code>``: answer <code> with the API's error body;
- ``burst-<code>-<n>[-retry-<s>]``: the first n requests answer <code>, later ones succeed. The
  count is kept per API, per model name and per caller, where the caller is the ``x-test-id``
  header, else the body's ``user`` (OpenAI) or ``metadata.user_id`` (Anthropic), so tests that
  use their own id do not share a count. ``retry-<s>`` sets the ``Retry-After`` header; a 429
  without it says ``Retry-After: 1``;
- ``garbage``: 200, ``application/json``, with an HTML body;
- ``malformed``: 200 with a body cut off mid-JSON (a stream gets one ``data:`` event holding
  broken JSON, then ends);
- ``html``: 200 ``text/html`` page, also when a stream was asked for;
- ``no-sse``: a stream request gets the plain JSON answer (``application/json``).

While answering:

- ``ttft-<s>``: a stream sends its headers and first frames (role chunk, ``message_start`` ...),
  then waits s before the first token; a plain request waits s before answering;
- ``drip-<s>``: 1000 tokens, a stream waits s before each one;
- ``stall-<n>-<s>``, ``stall-<n>-forever``: a stream stops after n tokens for s seconds (or
  until the client goes away), then goes on;
- ``reset-after-<n>``: a stream sends n tokens, then the connection is reset; a plain request
  gets its status line, headers and half its body, then the reset;
- ``truncate[-<n>]``: a stream sends n tokens (default 1), then half of the next frame, then
  ends cleanly at the HTTP level: no end marker (``[DONE]``, ``message_stop``, finish reason);
- ``stream-error``: a stream sends one token, then the API's error event, then ends;
- ``huge-<mb>``: an answer of <mb> MiB of text, produced piece by piece so the server's memory
  stays small (a plain answer carries a ``Content-Length``).

Stream-only directives are ignored on plain requests unless said otherwise above.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import struct
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

TRANSPORT_KEY = "upstream.transport"
HUGE_PIECE = 64 * 1024
_MIB = 1 << 20
_NUM = r"(\d+(?:\.\d+)?)"
_RESET_PAUSE = 0.05  # lets the client read what was sent before the reset discards it

ErrorFactory = Callable[[int, str, Mapping[str, str]], Response]


@dataclass(frozen=True)
class Burst:
    status: int
    count: int
    retry_after: str | None


@dataclass(frozen=True)
class Faults:
    """What the model name asked for; the defaults are a well-behaved upstream."""

    echo: bool = False
    tool: bool = False
    delay: float = 0.0
    reset: bool = False
    status: int | None = None
    burst: Burst | None = None
    garbage: bool = False
    malformed: bool = False
    html: bool = False
    no_sse: bool = False
    ttft: float = 0.0
    drip: float | None = None
    stall_after: int | None = None
    stall_for: float | None = None  # None: until the client goes away
    reset_after: int | None = None
    truncate_after: int | None = None
    stream_error: bool = False
    huge_mb: float | None = None


def _flag(name: str) -> Callable[[re.Match[str]], dict[str, Any]]:
    return lambda _: {name: True}


def _stall_groups(m: re.Match[str]) -> dict[str, Any]:
    seconds = None if m.group(3) else float(m.group(2))
    return {"stall_after": int(m.group(1)), "stall_for": seconds}


def _burst(m: re.Match[str]) -> dict[str, Any]:
    return {"burst": Burst(int(m.group(1)), int(m.group(2)), m.group(3))}


_FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], dict[str, Any]]], ...] = (
    (re.compile("echo"), _flag("echo")),
    (re.compile("tool"), _flag("tool")),
    (re.compile(rf"(?:sleep|firstbyte)-{_NUM}"), lambda m: {"delay": float(m.group(1))}),
    (re.compile("reset"), _flag("reset")),
    (re.compile(r"status-(\d{3})"), lambda m: {"status": int(m.group(1))}),
    (re.compile(rf"burst-(\d{{3}})-(\d+)(?:-retry-{_NUM})?"), _burst),
    (re.compile("garbage"), _flag("garbage")),
    (re.compile("malformed"), _flag("malformed")),
    (re.compile("html"), _flag("html")),
    (re.compile("no-sse"), _flag("no_sse")),
    (re.compile(rf"ttft-{_NUM}"), lambda m: {"ttft": float(m.group(1))}),
    (re.compile(rf"drip-{_NUM}"), lambda m: {"drip": float(m.group(1))}),
    (re.compile(rf"stall-(\d+)-(?:{_NUM}|(forever))"), _stall_groups),
    (re.compile(r"reset-after-(\d+)"), lambda m: {"reset_after": int(m.group(1))}),
    (re.compile(r"truncate(?:-(\d+))?"), lambda m: {"truncate_after": int(m.group(1) or 1)}),
    (re.compile("stream-error"), _flag("stream_error")),
    (re.compile(rf"huge-{_NUM}"), lambda m: {"huge_mb": float(m.group(1))}),
)


def parse_faults(model: str) -> Faults:
    """The directives in ``model`` (see the module docstring); unknown parts are ignored."""
    found: dict[str, Any] = {}
    for part in model.split("+"):
        for pattern, build in _FORMS:
            match = pattern.fullmatch(part)
            if match:
                found.update(build(match))
                break
    return Faults(**found)


@dataclass
class BurstCounter:
    """Requests seen per burst key, so "the first n fail" holds per test, not per process."""

    seen: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def fails(self, burst: Burst, key: tuple[str, str, str]) -> bool:
        self.seen[key] = self.seen.get(key, 0) + 1
        return self.seen[key] <= burst.count


class TransportH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that puts the connection's transport into each request's scope.

    ASGI gives an application no way to abort a connection: returning without a response makes
    uvicorn answer 500, and closing is a clean FIN. A reset needs the socket itself (SO_LINGER 0,
    then close), so the transport is handed to the application under ``TRANSPORT_KEY``. uvicorn
    takes this class through its public ``http=`` option, and the same port keeps serving every
    other directive, which a separate raw asyncio server could not do.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        app: ASGIApp = self.app

        async def with_transport(scope: Scope, receive: Receive, send: Send) -> None:
            scope[TRANSPORT_KEY] = transport
            await app(scope, receive, send)

        self.app = with_transport


async def reset_connection(scope: Scope) -> None:
    """Abort the request's TCP connection so the peer sees a reset, not an HTTP answer."""
    transport: asyncio.Transport | None = scope.get(TRANSPORT_KEY)
    if transport is None:
        raise RuntimeError(
            "a reset needs the server run with http=TransportH11Protocol (see upstream_server.main)"
        )
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    for _ in range(3):  # connection_lost runs soon after; then uvicorn drops whatever is sent
        await asyncio.sleep(0)


def caller_key(request: Request, fallback: object = None) -> str:
    """Who a burst count belongs to: the ``x-test-id`` header, else a body field, else nobody."""
    test_id = request.headers.get("x-test-id")
    if test_id:
        return test_id
    return fallback if isinstance(fallback, str) else ""


async def early_answer(
    faults: Faults,
    request: Request,
    *,
    stream: bool,
    bursts: BurstCounter,
    burst_key: tuple[str, str, str],
    error: ErrorFactory,
) -> Response | None:
    """Apply the directives that act before the real answer; a response ends the request."""
    if faults.delay:
        await _wait_unless_gone(request, faults.delay)
    if faults.ttft and (not stream or faults.no_sse):
        await _wait_unless_gone(request, faults.ttft)
    if faults.reset:
        await reset_connection(request.scope)
        return Response(status_code=204)  # the connection is gone: this never reaches the wire
    if faults.status is not None:
        return error(faults.status, f"simulated upstream failure (HTTP {faults.status})", {})
    burst = faults.burst
    if burst is not None and bursts.fails(burst, burst_key):
        retry = burst.retry_after or ("1" if burst.status == 429 else None)
        headers = {"retry-after": retry} if retry else {}
        return error(burst.status, f"simulated burst failure (HTTP {burst.status})", headers)
    if faults.garbage:
        return Response(b"<html>this is not JSON", media_type="application/json")
    if faults.html:
        return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>")
    if faults.malformed:
        if stream and not faults.no_sse:
            return Response(
                b'data: {"id": "cut", "choices": [{"del\n\n', media_type="text/event-stream"
            )
        return Response(
            b'{"id": "cut", "choices": [{"message": {"con', media_type="application/json"
        )
    return None


async def _wait_unless_gone(request: Request, seconds: float) -> None:
    """Wait, ending early when the client hangs up, so abandoned requests do not linger."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while (await request.receive())["type"] != "http.disconnect":
                pass


def huge_pieces(mb: float) -> Iterator[str]:
    """``mb`` MiB of plain ASCII words, ``HUGE_PIECE`` characters at a time."""
    left = int(mb * _MIB)
    block = ("lorem ipsum dolor sit amet " * (HUGE_PIECE // 27 + 1))[:HUGE_PIECE]
    while left > 0:
        yield block[:left]
        left -= HUGE_PIECE


def huge_json(document: Mapping[str, Any], marker: str, mb: float) -> Response:
    """``document`` as JSON with the string ``marker`` replaced by ``mb`` MiB of text, streamed."""
    head, tail = json.dumps(document).encode().split(json.dumps(marker).encode()[1:-1])
    length = len(head) + int(mb * _MIB) + len(tail)

    async def body() -> AsyncIterator[bytes]:
        yield head
        for piece in huge_pieces(mb):
            yield piece.encode()
        yield tail

    return StreamingResponse(
        body(), media_type="application/json", headers={"content-length": str(length)}
    )


def reset_midway(body: bytes, scope: Scope, status: int = 200) -> Response:
    """The status line, headers (with the full length) and half of ``body``, then a reset."""

    async def half() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        await asyncio.sleep(_RESET_PAUSE)
        await reset_connection(scope)

    return StreamingResponse(
        half(),
        status_code=status,
        media_type="application/json",
        headers={"content-length": str(len(body))},
    )


@dataclass
class Frames:
    """One stream in the API's own wire format, cut where the directives act."""

    head: Sequence[bytes]  # before the first token: role chunk, message_start ...
    tokens: Iterable[bytes]
    tail: Sequence[bytes]  # finish reason, usage, end marker
    error: bytes  # the API's mid-stream error event


async def shape_stream(
    frames: Frames, faults: Faults, scope: Scope, on_end: Callable[[bool, int], None]
) -> AsyncIterator[bytes]:
    """Send ``frames`` with the stream directives applied; ``on_end(complete, tokens_sent)``."""
    sent = 0
    complete = False
    checked = -1
    body = itertools.chain(
        ((True, frame) for frame in frames.tokens), ((False, frame) for frame in frames.tail)
    )
    try:
        for frame in frames.head:
            yield frame
        if faults.ttft:
            await asyncio.sleep(faults.ttft)
        for is_token, frame in body:
            if sent != checked:  # once per token boundary, including the one before the tail
                checked = sent
                if faults.truncate_after == sent:
                    yield frame[: len(frame) // 2]
                    return
                if faults.reset_after == sent:
                    await asyncio.sleep(_RESET_PAUSE)
                    await reset_connection(scope)
                    return
                if faults.stream_error and sent == 1:
                    yield frames.error
                    return
                if faults.stall_after == sent:
                    await _stall(faults.stall_for)
            if is_token and faults.drip:
                await asyncio.sleep(faults.drip)
            yield frame
            sent += is_token
        complete = True
    finally:
        on_end(complete, sent)


async def _stall(seconds: float | None) -> None:
    if seconds is None:
        await asyncio.Event().wait()  # cancelled when the client disconnects
    else:
        await asyncio.sleep(seconds)
