"""Any OpenAI-compatible chat endpoint (OpenAI, Mistral, vLLM, Ollama, llama.cpp server, TGI).

One connection pool per provider; headers, URL and credentials are fixed at ``start()`` so the
per-request path is: serialise, POST, validate. The HTTP plumbing (pool, timeouts, size limits,
transport failures, status codes) is ``upstream_http``'s, as for the other HTTP providers.
Failures map onto the gateway's error hierarchy:

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
settings are not read from the environment, redirects are not followed and cookies are not kept:
data goes only where the config says.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError
from yarl import URL

from zonegate.config.schema import ModelConfig, OpenAICompatProviderConfig
from zonegate.errors import InvalidRequest, UpstreamError, ZonegateError
from zonegate.providers.base import Capabilities, ProviderStartError, SecretResolver
from zonegate.providers.upstream_http import (
    TOO_LARGE,
    UpstreamHttp,
    resolve_secret,
)
from zonegate.wire.openai_chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    StreamOptions,
)
from zonegate.wire.openai_embeddings import EmbeddingRequest, EmbeddingResponse

_CALLER_FAULT = frozenset({400, 413, 422})
_NOT_FORWARDED = MappingProxyType({"metadata": True})
_WITH_USAGE = StreamOptions(include_usage=True)
_MAX_MESSAGE = 300


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
        self._url = _endpoint(settings, "/chat/completions")
        self._embeddings_url = _endpoint(settings, "/embeddings")
        self._models_url = _endpoint(settings, "/models")
        self._http = UpstreamHttp.for_endpoint(model_id, self._url, settings)

    async def start(self) -> None:
        """Resolve credentials and open the connection pool (no request is sent)."""
        self._http.start(self._url, self._settings, self._secrets, self._credentials)

    def _credentials(self) -> dict[str, str]:
        """The bearer token when a key is configured; local servers often take none."""
        if self._settings.api_key is None:
            return {}
        key = resolve_secret(self.model_id, "api_key", self._settings.api_key, self._secrets)
        return {"Authorization": f"Bearer {key}"}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        body = self._body(request, stream=False)
        status, content, headers = await self._http.post(self._url, body)
        if not 200 <= status < 300:
            raise self._status_error(status, content, headers)
        try:
            return ChatCompletion.model_validate_json(content)
        except ValidationError as exc:
            raise self._bad_response(exc) from exc

    async def check_health(self) -> None:
        """``GET {base_url}/models``: cheap, authenticated, served by every OpenAI-compatible
        engine (vLLM, Ollama, llama.cpp server, TGI)."""
        status, content, headers = await self._http.get(self._models_url)
        if not 200 <= status < 300:
            raise self._status_error(status, content, headers)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embeddings from ``{base_url}/embeddings``; errors map as for chat."""
        outgoing = request.model_copy(update={"model": self._settings.model})
        body = outgoing.__pydantic_serializer__.to_json(
            outgoing, exclude_none=True, exclude=_NOT_FORWARDED
        )
        status, content, headers = await self._http.post(self._embeddings_url, body)
        if not 200 <= status < 300:
            raise self._status_error(status, content, headers)
        try:
            result = EmbeddingResponse.model_validate_json(content)
        except ValidationError as exc:
            raise self._bad_response(exc, "an embeddings list") from exc
        if len(result.data) != len(request.texts()):
            raise UpstreamError(
                f"upstream for {self._http.where} returned {len(result.data)} embeddings for "
                f"{len(request.texts())} inputs",
                code="upstream_bad_response",
            )
        return result

    async def stream(
        self, request: ChatCompletionRequest
    ) -> AsyncGenerator[ChatCompletionChunk, None]:
        """Yield the upstream's chunks; closing this iterator closes the upstream connection."""
        body = self._body(request, stream=True)
        deadline = self._http.deadline()
        response = await self._http.open_stream(self._url, body, deadline)
        done = finished = False
        try:
            if not 200 <= response.status < 300:
                content = await self._http.read(self._http.body_of(response), deadline)
                raise self._status_error(response.status, content, response.headers)
            try:
                async with aclosing(self._http.data_lines(response, deadline)) as payloads:
                    async for payload in payloads:
                        if done:
                            continue  # the tail after [DONE], still measured as it is read
                        if payload == b"[DONE]":
                            done = True  # keep reading to the end so the connection is reused
                            continue
                        chunk = self._parse_chunk(payload.decode("utf-8", "replace"))
                        finished = finished or any(c.finish_reason for c in chunk.choices)
                        yield chunk
            except UpstreamError as exc:
                # Cut off after [DONE]: the answer is whole, the connection is not. A line over
                # max_response_bytes is refused wherever it stands.
                if not done or exc.code == TOO_LARGE:
                    raise
            if not (done or finished):
                raise UpstreamError(
                    f"upstream for {self._http.where} ended the stream before it finished "
                    "(no finish_reason, no [DONE])",
                    code="upstream_bad_response",
                )
        finally:
            # A response read to its end has already gone back to the pool; one abandoned
            # midway is closed, which drops the connection so the upstream stops generating.
            response.close()

    # -- helpers ------------------------------------------------------------------------------

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
            f"upstream for {self._http.where} reported an error mid-stream: "
            f"{_error_message(data) or 'no reason given'}",
            code="upstream_stream_error",
        )

    def _status_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ZonegateError:
        if status in _CALLER_FAULT:
            detail = _body_message(body) or "no reason given"
            return InvalidRequest(
                f"upstream for {self._http.where} rejected the request (HTTP {status}): {detail}",
                code="upstream_rejected_request",
            )
        return self._http.status_error(status, headers)

    def _bad_response(
        self, exc: ValidationError, expected: str = "a chat completion"
    ) -> UpstreamError:
        is_json = all(e["type"] != "json_invalid" for e in exc.errors(include_url=False))
        what = f"a response that is not {expected}" if is_json else "malformed JSON"
        return UpstreamError(
            f"upstream for {self._http.where} returned {what}", code="upstream_bad_response"
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


def _endpoint(settings: OpenAICompatProviderConfig, path: str) -> URL:
    """``base_url`` + ``path``, with Azure's ``api-version`` query parameter when configured."""
    url = URL(settings.base_url.rstrip("/") + path)
    return url.with_query({"api-version": settings.api_version}) if settings.api_version else url
