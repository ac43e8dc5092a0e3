"""Google's Gemini API (Generative Language API, REST ``v1beta``) as a provider.

Requests are translated by ``zonegate.wire.gemini`` and sent to
``{base_url}/models/{model}:generateContent``, or ``:streamGenerateContent?alt=sse`` for a
stream; the key goes in the ``x-goog-api-key`` header, never in the URL, where it would end up in
proxy and server logs. The HTTP plumbing (pool, timeouts, size limits, transport failures) is
``upstream_http``'s. Google's answers map onto the gateway's errors:

- a request the translation cannot express (an unsupported parameter, a schema Gemini cannot
  take) -> ``InvalidRequest`` before anything is sent;
- HTTP 400 / 413 / 422 (Google refused the caller's request: ``INVALID_ARGUMENT``, a prompt
  over the context window) -> ``InvalidRequest`` with Google's message, status name and reason;
- HTTP 400 that is about the gateway rather than the request -> ``UpstreamError``: an invalid or
  expired key (``API_KEY_INVALID`` and kin) is ``upstream_auth_failed``; ``FAILED_PRECONDITION``
  (billing, a region the API does not serve) is ``upstream_error``; their messages are not passed
  on, as they describe the gateway's account;
- any other non-2xx -> ``UpstreamError`` as ``upstream_http.UpstreamHttp.status_error`` maps it;
  429 and 502/503/504 are retryable, with the wait from ``Retry-After`` or, as Google sends it,
  from the body's ``RetryInfo.retryDelay``;
- a body that is not a ``GenerateContentResponse``, malformed JSON, an error event in a stream,
  and a stream that ends without a finish reason (a truncated answer must not pass for a whole
  one) -> ``UpstreamError`` (``upstream_bad_response``, ``upstream_stream_error``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import aclosing, contextmanager

from yarl import URL

from zonegate.config.schema import GeminiProviderConfig, ModelConfig
from zonegate.errors import InvalidRequest, UpstreamError, ZonegateError
from zonegate.providers.base import Capabilities, ProviderStartError, SecretResolver
from zonegate.providers.upstream_http import (
    RETRYABLE_STATUS,
    UpstreamHttp,
    resolve_secret,
)
from zonegate.wire.gemini import (
    GeminiStreamToChunks,
    chat_to_generate_content,
    error_from_gemini,
    generate_content_to_chat,
)
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest

_CALLER_FAULT = frozenset({400, 413, 422})
# ErrorInfo reasons of a 400 that is about the gateway's key, not the caller's request.
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


class GeminiProvider:
    """Chat completions from a pinned Gemini model over Google's REST API."""

    def __init__(self, model_id: str, config: ModelConfig, secrets: SecretResolver) -> None:
        settings = config.provider
        if not isinstance(settings, GeminiProviderConfig):
            raise ProviderStartError(
                f"model {model_id!r}: GeminiProvider needs a 'gemini' provider config, "
                f"got {settings.type!r}"
            )
        self.model_id = model_id
        # Vision is not declared: images are taken only inline, as data: URLs (Gemini does not
        # fetch web URLs), so a client sending image URLs would be refused.
        self.capabilities = Capabilities(streaming=True, tools=True, json_mode=True)
        self._settings = settings
        self._secrets = secrets
        base = settings.base_url.rstrip("/") + f"/models/{settings.model}"
        self._complete_url = URL(base + ":generateContent")
        self._stream_url = URL(base + ":streamGenerateContent").with_query(alt="sse")
        self._http = UpstreamHttp.for_endpoint(model_id, self._complete_url, settings)

    async def start(self) -> None:
        """Resolve the key and headers and open the connection pool (no request is sent)."""
        self._http.start(self._complete_url, self._settings, self._secrets, self._credentials)

    def _credentials(self) -> dict[str, str]:
        key = resolve_secret(self.model_id, "api_key", self._settings.api_key, self._secrets)
        return {"x-goog-api-key": key}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        body = self._body(request)
        status, content, headers = await self._http.post(self._complete_url, body)
        if not 200 <= status < 300:
            raise self._status_error(status, content, headers)
        data = self._parse(content)
        with self._naming():
            return generate_content_to_chat(data, self._settings.model)

    async def stream(
        self, request: ChatCompletionRequest
    ) -> AsyncGenerator[ChatCompletionChunk, None]:
        """Yield chunks as Google's events arrive; closing this iterator closes the connection."""
        body = self._body(request)
        deadline = self._http.deadline()
        translator = GeminiStreamToChunks(self._settings.model)
        response = await self._http.open_stream(self._stream_url, body, deadline)
        try:
            if not 200 <= response.status < 300:
                content = await self._http.read(self._http.body_of(response), deadline)
                raise self._status_error(response.status, content, response.headers)
            async with aclosing(self._http.data_lines(response, deadline)) as payloads:
                async for payload in payloads:
                    if not payload:
                        continue
                    event = self._parse(payload)
                    with self._naming():
                        chunks = translator.feed(event)
                    for chunk in chunks:
                        yield chunk
            with self._naming():
                chunks = translator.finish()
            for chunk in chunks:
                yield chunk
        finally:
            # A response read to its end has already gone back to the pool; one abandoned
            # midway is closed, which drops the connection so the upstream stops generating.
            response.close()

    # -- helpers ------------------------------------------------------------------------------

    def _body(self, request: ChatCompletionRequest) -> bytes:
        document = chat_to_generate_content(request)
        # ASCII escapes: a lone surrogate in the caller's text cannot break the encoding.
        return json.dumps(document, separators=(",", ":")).encode()

    def _parse(self, content: bytes) -> object:
        try:
            return json.loads(content)
        except ValueError:
            raise UpstreamError(
                f"upstream for {self._http.where} returned malformed JSON",
                code="upstream_bad_response",
            ) from None

    @contextmanager
    def _naming(self) -> Iterator[None]:
        """Translation errors, re-raised saying which model and host the answer came from."""
        try:
            yield
        except UpstreamError as exc:
            raise UpstreamError(
                f"upstream for {self._http.where}: {exc.message}",
                code=exc.code,
                retryable=exc.retryable,
                retry_after=exc.retry_after,
            ) from exc

    def _status_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ZonegateError:
        google_status, reasons, delay = _error_details(body)
        where = self._http.where
        if status in _CALLER_FAULT and reasons & _KEY_REASONS:
            return UpstreamError(
                f"upstream for {where} answered HTTP {status} ({', '.join(sorted(reasons))}); "
                "check the model's api_key reference",
                code="upstream_auth_failed",
            )
        if status in _CALLER_FAULT and google_status == "FAILED_PRECONDITION":
            return UpstreamError(
                f"upstream for {where} answered HTTP {status} (FAILED_PRECONDITION); the "
                "account cannot use this model as configured (billing, region or access)",
                code="upstream_error",
            )
        if status in _CALLER_FAULT:
            return InvalidRequest(
                f"upstream for {where} rejected the request (HTTP {status}): "
                f"{error_from_gemini(status, body)}",
                code="upstream_rejected_request",
            )
        return self._http.status_error(
            status, headers, delay=delay if status in RETRYABLE_STATUS else None
        )


def _error_details(body: bytes) -> tuple[str | None, frozenset[str], float | None]:
    """From a Google error body: its status name, ``ErrorInfo`` reasons and ``RetryInfo`` delay."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, frozenset(), None
    if isinstance(data, list) and data:
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, frozenset(), None
    status = error.get("status") if isinstance(error.get("status"), str) else None
    reasons: set[str] = set()
    delay: float | None = None
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        if not isinstance(detail, dict):
            continue
        if isinstance(detail.get("reason"), str):
            reasons.add(detail["reason"])
        wait = detail.get("retryDelay")
        match = _DURATION.match(wait) if isinstance(wait, str) else None
        if match is not None:
            delay = float(match[1])
    return status, frozenset(reasons), delay
