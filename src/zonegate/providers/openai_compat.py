"""Any OpenAI-compatible chat endpoint (OpenAI, Mistral, vLLM, Ollama, llama.cpp server, TGI).

One pooled ``httpx.AsyncClient`` per provider; headers, URL and credentials are fixed at
``start()`` so the per-request path is: serialise, POST, validate. Failures map onto the gateway's
error hierarchy:

- upstream 400 / 413 / 422 (the caller's request was refused, e.g. an invalid parameter or a
  prompt over the context window) -> ``InvalidRequest`` with the upstream's message;
- any other non-2xx -> ``UpstreamError`` (502) whose code names the class of failure
  (``upstream_auth_failed``, ``upstream_not_found``, ``upstream_rate_limited``,
  ``upstream_server_error``, ``upstream_error``) and whose message names the HTTP status; the
  upstream's body is not echoed, as it may describe the gateway's credentials or infrastructure;
- connection refused / connect timeout -> ``UpstreamError`` code ``upstream_unreachable``
  (the request was never sent, so it is safe to retry elsewhere);
- read / write / pool timeouts and the total deadline -> ``UpstreamTimeout`` (504);
- a body that is not a chat completion, or a stream that ends with neither a finish reason nor
  ``[DONE]`` (a truncated answer must not pass for a whole one) -> ``UpstreamError`` code
  ``upstream_bad_response``; an error event inside a stream -> code ``upstream_stream_error``.

The gateway's own ``metadata`` field is not forwarded (it carries zonegate labels, and OpenAI
rejects ``metadata`` unless ``store`` is set); every other field, known or not, is. Proxy and
CA settings are not read from the environment (``trust_env=False``): data goes only where the
config says.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, Awaitable
from types import MappingProxyType
from typing import TypeVar

import httpx
from pydantic import ValidationError

from zonegate import __version__
from zonegate.config.schema import ModelConfig, OpenAICompatProviderConfig
from zonegate.errors import InvalidRequest, UpstreamError, UpstreamTimeout, ZonegateError
from zonegate.providers.base import Capabilities, ProviderStartError, SecretResolver
from zonegate.wire.openai_chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    StreamOptions,
)

# Header values of this shape are credential references, resolved at start().
_REFERENCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$")
_CALLER_FAULT = frozenset({400, 413, 422})
_STATUS_CODES = {
    401: "upstream_auth_failed",
    403: "upstream_auth_failed",
    404: "upstream_not_found",
    429: "upstream_rate_limited",
}
_STATUS_HINTS = {
    401: "; check the model's api_key reference",
    403: "; check the model's api_key reference and the account's access to the model",
    404: "; check the model's base_url and upstream model name",
    429: "; the upstream is rate limiting the gateway",
}
_NOT_FORWARDED = MappingProxyType({"metadata": True})
_WITH_USAGE = StreamOptions(include_usage=True)
_MAX_MESSAGE = 300

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
        self.capabilities = Capabilities(streaming=True, tools=True, json_mode=True)
        self._settings = settings
        self._secrets = secrets
        self._url = httpx.URL(settings.base_url.rstrip("/") + "/chat/completions")
        self._where = f"model {model_id!r} at {self._url.host}"
        self._total = settings.timeouts.total
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Resolve credentials and open the connection pool (no request is sent)."""
        if self._client is not None:
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
            headers[name] = value
        t = settings.timeouts
        n = settings.max_connections
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.total),
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            trust_env=False,
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        client = self._require_client()
        body = self._body(request, stream=False)
        try:
            async with asyncio.timeout(self._total):
                response = await client.post(self._url, content=body)
        except TimeoutError as exc:
            raise self._deadline_error() from exc
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if not response.is_success:
            raise self._status_error(response.status_code, response.content)
        try:
            return ChatCompletion.model_validate_json(response.content)
        except ValidationError as exc:
            raise self._bad_response(exc) from exc

    async def stream(
        self, request: ChatCompletionRequest
    ) -> AsyncGenerator[ChatCompletionChunk, None]:
        """Yield the upstream's chunks; closing this iterator closes the upstream connection."""
        client = self._require_client()
        body = self._body(request, stream=True)
        deadline = asyncio.get_running_loop().time() + self._total
        try:
            async with asyncio.timeout_at(deadline):
                response = await client.send(
                    client.build_request("POST", self._url, content=body), stream=True
                )
        except TimeoutError as exc:
            raise self._deadline_error() from exc
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        try:
            if not response.is_success:
                content = await self._read(response.aread(), deadline)
                raise self._status_error(response.status_code, content)
            lines = response.aiter_lines()
            done = finished = False
            while True:
                try:
                    line = await self._read(anext(lines), deadline)
                except StopAsyncIteration:
                    break
                if done or not line.startswith("data:"):
                    continue  # blank separators, comments, event names; the tail after [DONE]
                payload = line[5:].strip()
                if payload == "[DONE]":
                    done = True  # keep reading to the end so the connection can be reused
                    continue
                chunk = self._parse_chunk(payload)
                finished = finished or any(c.finish_reason for c in chunk.choices)
                yield chunk
            if not (done or finished):
                raise UpstreamError(
                    f"upstream for {self._where} ended the stream before it finished "
                    "(no finish_reason, no [DONE])",
                    code="upstream_bad_response",
                )
        finally:
            await response.aclose()

    # -- helpers ------------------------------------------------------------------------------

    def _require_client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError(f"provider for model {self.model_id!r} is not started")
        return self._client

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
        except TimeoutError as exc:
            raise self._deadline_error() from exc
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc

    def _parse_chunk(self, payload: str) -> ChatCompletionChunk:
        try:
            return ChatCompletionChunk.model_validate_json(payload)
        except ValidationError as exc:
            try:
                data = json.loads(payload)
            except ValueError:
                data = None
            if isinstance(data, dict) and "error" in data:
                raise UpstreamError(
                    f"upstream for {self._where} reported an error mid-stream: "
                    f"{_error_message(data) or 'no reason given'}",
                    code="upstream_stream_error",
                ) from exc
            raise self._bad_response(exc) from exc

    def _deadline_error(self) -> UpstreamTimeout:
        return UpstreamTimeout(
            f"upstream for {self._where} did not finish within the total timeout of "
            f"{self._total:g} s (timeouts.total)"
        )

    def _transport_error(self, exc: httpx.HTTPError) -> UpstreamError:
        kind = type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return UpstreamError(
                f"cannot reach the upstream for {self._where} ({kind}); check base_url and "
                "that the server is running",
                code="upstream_unreachable",
            )
        if isinstance(exc, httpx.PoolTimeout):
            return UpstreamTimeout(
                f"no free connection to the upstream for {self._where} within the timeout "
                "(max_connections is exhausted)",
                code="upstream_pool_timeout",
            )
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(
                f"upstream for {self._where} timed out ({kind}); timeouts.read is "
                f"{self._settings.timeouts.read:g} s"
            )
        return UpstreamError(
            f"connection to the upstream for {self._where} failed ({kind})",
            code="upstream_connection_error",
        )

    def _status_error(self, status: int, body: bytes) -> ZonegateError:
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
        )

    def _bad_response(self, exc: ValidationError) -> UpstreamError:
        is_json = all(e["type"] != "json_invalid" for e in exc.errors(include_url=False))
        what = "a response that is not a chat completion" if is_json else "malformed JSON"
        return UpstreamError(
            f"upstream for {self._where} returned {what}", code="upstream_bad_response"
        )


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
