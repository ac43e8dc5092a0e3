"""Any OpenAI-compatible chat endpoint (OpenAI, Mistral, vLLM, Ollama, llama.cpp server, TGI).

One ``aiohttp.ClientSession`` (one connection pool) per provider; headers, URL and credentials are
fixed at ``start()`` so the per-request path is: serialise, POST, validate. aiohttp rather than
httpx because the client's CPU cost per call bounds the gateway's throughput on one core, and
aiohttp's is several times lower. Failures map onto the gateway's error hierarchy:

- upstream 400 / 413 / 422 (the caller's request was refused, e.g. an invalid parameter or a
  prompt over the context window) -> ``InvalidRequest`` with the upstream's message;
- any other non-2xx -> ``UpstreamError`` (502) whose code names the class of failure
  (``upstream_auth_failed``, ``upstream_not_found``, ``upstream_rate_limited``,
  ``upstream_unavailable`` for 502/503/504, ``upstream_server_error``, ``upstream_error``) and
  whose message names the HTTP status; the upstream's body is not echoed, as it may describe the
  gateway's credentials or infrastructure. 429 and 502/503/504 are marked retryable, with the
  ``Retry-After`` the upstream sent;
- connection refused / connect (or TLS handshake) timeout -> ``UpstreamError`` code
  ``upstream_unreachable``, retryable (the request was never sent);
- a body, or one streamed line, over ``max_response_bytes`` -> ``UpstreamError`` code
  ``upstream_response_too_large`` (read no further, so a runaway upstream cannot exhaust memory);
- a read timeout and the total deadline (which also bounds waiting for a free pooled connection
  and sending the body) -> ``UpstreamTimeout`` (504);
- the connection dropping or the response being cut short -> ``UpstreamError`` code
  ``upstream_connection_error``;
- a body that is not a chat completion, or a stream that ends with neither a finish reason nor
  ``[DONE]`` (a truncated answer must not pass for a whole one) -> ``UpstreamError`` code
  ``upstream_bad_response``; an error event inside a stream -> code ``upstream_stream_error``.

The gateway's own ``metadata`` field is not forwarded (it carries zonegate labels, and OpenAI
rejects ``metadata`` unless ``store`` is set); every other field, known or not, is. Proxy
settings are not read from the environment (``trust_env=False``), redirects are not followed and
cookies are not kept: data goes only where the config says.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncGenerator, Awaitable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import aiohttp
import certifi
from pydantic import ValidationError
from yarl import URL

from zonegate import __version__
from zonegate.config.schema import ModelConfig, OpenAICompatProviderConfig
from zonegate.errors import InvalidRequest, UpstreamError, UpstreamTimeout, ZonegateError
from zonegate.providers.base import Capabilities, ProviderStartError, SecretResolver, retry_after
from zonegate.wire.openai_chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    StreamOptions,
)
from zonegate.wire.openai_embeddings import EmbeddingRequest, EmbeddingResponse

# Header values of this shape are credential references, resolved at start().
_REFERENCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$")
# RFC 9110 field names and (ASCII) values: checked at start(), as aiohttp would send a malformed
# name as it is and refuse a value with a line break only when a request is made.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*\Z")
_CALLER_FAULT = frozenset({400, 413, 422})
_STATUS_CODES = {
    401: "upstream_auth_failed",
    403: "upstream_auth_failed",
    404: "upstream_not_found",
    429: "upstream_rate_limited",
    502: "upstream_unavailable",
    503: "upstream_unavailable",
    504: "upstream_unavailable",
}
_RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
_STATUS_HINTS = {
    401: "; check the model's api_key reference",
    403: "; check the model's api_key reference and the account's access to the model",
    404: "; check the model's base_url and upstream model name",
    429: "; the upstream is rate limiting the gateway",
}
_NOT_FORWARDED = MappingProxyType({"metadata": True})
_WITH_USAGE = StreamOptions(include_usage=True)
_MAX_MESSAGE = 300
# Idle pooled connections are dropped after this long: under the 5 s idle timeout of uvicorn and
# Node, the shortest common one, as aiohttp reuses a pooled connection without first checking
# that the server has not just closed it (and a POST is not retried).
_KEEPALIVE_S = 4.0
# Only the Python versions with the TLS transport leak need aiohttp's periodic cleanup; asking
# for it elsewhere is a DeprecationWarning.
_CLEANUP_CLOSED = bool(getattr(aiohttp.connector, "NEEDS_CLEANUP_CLOSED", False))

T = TypeVar("T")


class OpenAICompatProvider:
    """Chat completions over HTTP against an OpenAI-compatible ``/v1`` base URL."""

    def __init__(self, model_id: str, config: ModelConfig, secrets: SecretResolver) -> None:
        settings = config.provider
        if not isinstance(settings, OpenAICompatProviderConfig):
            raise ProviderStartError(
                f"model {model_id!r}: OpenAICompatProvider needs an 'openai_compat' provider "
                f"config, got {settings.type!r}"
            )
        self.model_id = model_id
        # Tools, JSON mode and images are passed through; the upstream model decides.
        self.capabilities = Capabilities(
            streaming=True, tools=True, json_mode=True, embeddings=True
        )
        self._settings = settings
        self._secrets = secrets
        self._url = URL(settings.base_url.rstrip("/") + "/chat/completions")
        self._embeddings_url = URL(settings.base_url.rstrip("/") + "/embeddings")
        self._models_url = URL(settings.base_url.rstrip("/") + "/models")
        self._where = f"model {model_id!r} at {self._url.host}"
        self._total = settings.timeouts.total
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Resolve credentials and open the connection pool (no request is sent)."""
        if self._session is not None:
            return
        settings = self._settings
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "User-Agent": f"zonegate/{__version__}",
        }
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {self._resolve('api_key', settings.api_key)}"
        for name, value in settings.headers.items():
            if _REFERENCE.match(value):
                value = self._resolve(f"headers.{name}", value)
            for same in [k for k in headers if k.lower() == name.lower()]:
                del headers[same]  # a configured header replaces a default of any spelling
            headers[name] = value
        for name, value in headers.items():
            if not (_HEADER_NAME.match(name) and _HEADER_VALUE.match(value)):
                raise ProviderStartError(
                    f"model {self.model_id!r}: header {name!r} is not a valid HTTP header (names "
                    "are letters, digits and !#$%&'*+-.^_`|~; values, including what a credential "
                    "reference resolves to, are printable ASCII on one line)"
                )
        t = settings.timeouts
        n = settings.max_connections
        connector = aiohttp.TCPConnector(
            limit=n,
            limit_per_host=n,
            ttl_dns_cache=300,
            keepalive_timeout=_KEEPALIVE_S,
            enable_cleanup_closed=_CLEANUP_CLOSED,
            ssl=_tls_context() if self._url.scheme == "https" else True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=headers,
            # aiohttp's ``connect`` also covers waiting for a free pooled connection, which is a
            # busy pool rather than an unreachable upstream: the total deadline bounds that wait.
            timeout=aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=t.connect, sock_read=t.read
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent",),
            raise_for_status=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        session = self._require_session()
        body = self._body(request, stream=False)
        try:
            async with (
                asyncio.timeout(self._total),
                session.post(self._url, data=body, allow_redirects=False) as response,
            ):
                status = response.status
                content = await self._body_of(response)
        except aiohttp.ClientError as exc:  # before TimeoutError: aiohttp's timeouts are both
            raise self._transport_error(exc) from exc
        except TimeoutError as exc:
            raise self._deadline_error() from exc
        if not 200 <= status < 300:
            raise self._status_error(status, content, response.headers)
        try:
            return ChatCompletion.model_validate_json(content)
        except ValidationError as exc:
            raise self._bad_response(exc) from exc

    async def check_health(self) -> None:
        """``GET {base_url}/models``: cheap, authenticated, served by every OpenAI-compatible
        engine (vLLM, Ollama, llama.cpp server, TGI)."""
        session = self._require_session()
        try:
            async with (
                asyncio.timeout(self._total),
                session.get(self._models_url, allow_redirects=False) as response,
            ):
                status = response.status
                content = await self._body_of(response)
        except aiohttp.ClientError as exc:
            raise self._transport_error(exc) from exc
        except TimeoutError as exc:
            raise self._deadline_error() from exc
        if not 200 <= status < 300:
            raise self._status_error(status, content, response.headers)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embeddings from ``{base_url}/embeddings``; errors map as for chat."""
        session = self._require_session()
        outgoing = request.model_copy(update={"model": self._settings.model})
        body = outgoing.__pydantic_serializer__.to_json(
            outgoing, exclude_none=True, exclude=_NOT_FORWARDED
        )
        try:
            async with (
                asyncio.timeout(self._total),
                session.post(self._embeddings_url, data=body, allow_redirects=False) as response,
            ):
                status = response.status
                content = await self._body_of(response)
        except aiohttp.ClientError as exc:
            raise self._transport_error(exc) from exc
        except TimeoutError as exc:
            raise self._deadline_error() from exc
        if not 200 <= status < 300:
            raise self._status_error(status, content, response.headers)
        try:
            result = EmbeddingResponse.model_validate_json(content)
        except ValidationError as exc:
            raise self._bad_response(exc, "an embeddings list") from exc
        if len(result.data) != len(request.texts()):
            raise UpstreamError(
                f"upstream for {self._where} returned {len(result.data)} embeddings for "
                f"{len(request.texts())} inputs",
                code="upstream_bad_response",
            )
        return result

    async def stream(
        self, request: ChatCompletionRequest
    ) -> AsyncGenerator[ChatCompletionChunk, None]:
        """Yield the upstream's chunks; closing this iterator closes the upstream connection."""
        session = self._require_session()
        body = self._body(request, stream=True)
        deadline = asyncio.get_running_loop().time() + self._total
        response = await self._read(
            session.post(self._url, data=body, allow_redirects=False), deadline
        )
        try:
            if not 200 <= response.status < 300:
                content = await self._read(self._body_of(response), deadline)
                raise self._status_error(response.status, content, response.headers)
            reader = response.content
            pieces: list[bytes] = []
            done = finished = False
            while True:
                try:
                    data = await self._read(reader.readany(), deadline)
                except UpstreamError:
                    if done:  # cut off after [DONE]: the answer is whole, the connection is not
                        break
                    raise
                lines = _take_lines(pieces, data)
                limit = self._settings.max_response_bytes
                if pieces and sum(map(len, pieces)) > limit:
                    raise self._too_large()  # one event that never ends
                for line in lines:
                    if len(line) > limit:
                        raise self._too_large()
                    if done or not line.startswith(b"data:"):
                        continue  # blank separators, comments, event names; the tail after [DONE]
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        done = True  # keep reading to the end so the connection can be reused
                        continue
                    chunk = self._parse_chunk(payload.decode("utf-8", "replace"))
                    finished = finished or any(c.finish_reason for c in chunk.choices)
                    yield chunk
                if not data:
                    break
            if not (done or finished):
                raise UpstreamError(
                    f"upstream for {self._where} ended the stream before it finished "
                    "(no finish_reason, no [DONE])",
                    code="upstream_bad_response",
                )
        finally:
            # A response read to its end has already gone back to the pool; one abandoned
            # midway is closed, which drops the connection so the upstream stops generating.
            response.close()

    # -- helpers ------------------------------------------------------------------------------

    async def _body_of(self, response: aiohttp.ClientResponse) -> bytes:
        """The whole body, refusing one over ``max_response_bytes`` before it is all read."""
        limit = self._settings.max_response_bytes
        if (response.content_length or 0) > limit:
            raise self._too_large()
        parts: list[bytes] = []
        size = 0
        async for part in response.content.iter_any():
            size += len(part)
            if size > limit:
                raise self._too_large()
            parts.append(part)
        return b"".join(parts)

    def _too_large(self) -> UpstreamError:
        return UpstreamError(
            f"upstream for {self._where} sent more than max_response_bytes "
            f"({self._settings.max_response_bytes} bytes) in one response or streamed event",
            code="upstream_response_too_large",
        )

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"provider for model {self.model_id!r} is not started")
        return self._session

    def _resolve(self, field: str, reference: str) -> str:
        try:
            value = self._secrets(reference).strip()
        except Exception as exc:
            raise ProviderStartError(
                f"model {self.model_id!r}: cannot resolve the {field} credential reference "
                f"{reference!r}: {exc}"
            ) from exc
        if not value:
            raise ProviderStartError(
                f"model {self.model_id!r}: the {field} credential reference {reference!r} "
                "resolved to an empty value"
            )
        return value

    def _body(self, request: ChatCompletionRequest, *, stream: bool) -> bytes:
        update = {
            "model": self._settings.model,
            "stream": stream,
            "stream_options": _WITH_USAGE if stream else None,
        }
        outgoing = request.model_copy(update=update)
        return outgoing.__pydantic_serializer__.to_json(
            outgoing, exclude_none=True, exclude=_NOT_FORWARDED
        )

    async def _read(self, awaitable: Awaitable[T], deadline: float) -> T:
        try:
            async with asyncio.timeout_at(deadline):
                return await awaitable
        except aiohttp.ClientError as exc:  # before TimeoutError: aiohttp's timeouts are both
            raise self._transport_error(exc) from exc
        except TimeoutError as exc:
            raise self._deadline_error() from exc

    def _parse_chunk(self, payload: str) -> ChatCompletionChunk:
        try:
            chunk = ChatCompletionChunk.model_validate_json(payload)
        except ValidationError as exc:
            try:
                data = json.loads(payload)
            except ValueError:
                data = None
            if isinstance(data, dict) and "error" in data:
                raise self._stream_error(data) from exc
            raise self._bad_response(exc) from exc
        extra = chunk.model_extra
        if extra and "error" in extra:  # an error event: every chunk field is optional
            raise self._stream_error(extra)
        return chunk

    def _stream_error(self, data: dict[str, Any]) -> UpstreamError:
        return UpstreamError(
            f"upstream for {self._where} reported an error mid-stream: "
            f"{_error_message(data) or 'no reason given'}",
            code="upstream_stream_error",
        )

    def _deadline_error(self) -> UpstreamTimeout:
        return UpstreamTimeout(
            f"upstream for {self._where} did not finish within the total timeout of "
            f"{self._total:g} s (timeouts.total)"
        )

    def _transport_error(self, exc: aiohttp.ClientError) -> UpstreamError:
        kind = type(exc).__name__
        if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            return UpstreamError(
                f"cannot reach the upstream for {self._where} ({kind}); check base_url and "
                "that the server is running",
                code="upstream_unreachable",
                retryable=True,
            )
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return UpstreamTimeout(
                f"upstream for {self._where} timed out ({kind}); timeouts.read is "
                f"{self._settings.timeouts.read:g} s"
            )
        return UpstreamError(
            f"connection to the upstream for {self._where} failed ({kind})",
            code="upstream_connection_error",
        )

    def _status_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ZonegateError:
        if status in _CALLER_FAULT:
            detail = _body_message(body) or "no reason given"
            return InvalidRequest(
                f"upstream for {self._where} rejected the request (HTTP {status}): {detail}",
                code="upstream_rejected_request",
            )
        code = _STATUS_CODES.get(status, "upstream_server_error" if status >= 500 else None)
        return UpstreamError(
            f"upstream for {self._where} answered HTTP {status}{_STATUS_HINTS.get(status, '')}",
            code=code,
            retryable=status in _RETRYABLE_STATUS,
            retry_after=retry_after(headers.get("Retry-After")),
        )

    def _bad_response(
        self, exc: ValidationError, expected: str = "a chat completion"
    ) -> UpstreamError:
        is_json = all(e["type"] != "json_invalid" for e in exc.errors(include_url=False))
        what = f"a response that is not {expected}" if is_json else "malformed JSON"
        return UpstreamError(
            f"upstream for {self._where} returned {what}", code="upstream_bad_response"
        )


def _take_lines(pieces: list[bytes], data: bytes) -> list[bytes]:
    """The lines completed by ``data`` (ended by LF, CRLF or CR; ``b""`` is the end of the body).

    ``pieces`` holds the unfinished line between calls. Not ``StreamReader.readline``: it refuses
    lines longer than its buffer, and one ``data:`` line can carry a large tool call. A CRLF cut
    between two reads yields one extra blank line, which SSE ignores.
    """
    if not data:
        block = b"".join(pieces)
        pieces.clear()
        return block.splitlines()
    cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
    if not cut:
        pieces.append(data)
        return []
    block = data if cut == len(data) else data[:cut]
    if pieces:
        pieces.append(block)
        block = b"".join(pieces)
        pieces.clear()
    if cut < len(data):
        pieces.append(data[cut:])
    return block.splitlines()


def _tls_context() -> ssl.SSLContext:
    """Certificate checks against certifi's CA bundle, whatever the environment says."""
    return ssl.create_default_context(cafile=certifi.where())


def _body_message(body: bytes) -> str | None:
    """The human-readable message of an upstream error body, shortened; None if there is none."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:_MAX_MESSAGE] or None
    return _error_message(data)


def _error_message(data: object) -> str | None:
    """The message of a parsed OpenAI-style error (``{"error": {"message": ...}}`` and kin)."""
    if not isinstance(data, dict):
        return None
    error = data.get("error", data)
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail")
    if isinstance(error, str) and error:
        return error[:_MAX_MESSAGE]
    return None
