"""Anthropic's Messages API (``POST {base_url}/messages``) as a provider.

Requests are translated by ``zonegate.wire.anthropic_outbound`` and sent as JSON, or as a
server-sent-event stream (``stream: true``) read by ``zonegate.wire.anthropic_events``. The key
goes in the ``x-api-key`` header and the configured ``anthropic-version`` with it. The module is
not named ``anthropic`` so that it never stands in for the vendor's SDK package. The HTTP plumbing
(pool, timeouts, size limits, transport failures) is ``upstream_http``'s, as for the other HTTP
providers. Anthropic's answers map onto the gateway's errors:

- a request the translation cannot express (an audio part, ``logprobs``, a temperature above 1
  when sampling is forwarded) -> ``InvalidRequest`` naming the field, before anything is sent;
- HTTP 400 / 413 / 422 (Anthropic refused the caller's request: an invalid parameter, a prompt
  over the context window, a body over its size limit) -> ``InvalidRequest`` with Anthropic's
  message and error type;
- HTTP 529 (Anthropic is overloaded) -> ``UpstreamError`` ``upstream_unavailable``, retryable,
  like 502/503/504; any other non-2xx as ``upstream_http.UpstreamHttp.status_error`` maps it
  (401/403 ``upstream_auth_failed``, 404 ``upstream_not_found``, 429 ``upstream_rate_limited``
  with ``Retry-After``); Anthropic's body is not passed on, as it may describe the account;
- an ``error`` event in a stream -> ``upstream_stream_error``; retryable when Anthropic called it
  transient (``overloaded_error``, ``rate_limit_error``) and no content had been produced yet,
  so the gateway may try again before the caller has seen anything;
- a body that is not a ``Message``, malformed JSON, and a stream that ends without
  ``message_stop`` (a truncated answer must not pass for a whole one) -> ``UpstreamError``
  ``upstream_bad_response``.

No ``check_health``: every Messages call spends tokens, and a vendor API is not probed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import aclosing, contextmanager
from typing import Any

from yarl import URL

from zonegate.config.schema import AnthropicProviderConfig, ModelConfig
from zonegate.errors import InvalidRequest, UpstreamError, ZonegateError
from zonegate.providers.base import Capabilities, ProviderStartError, SecretResolver, retry_after
from zonegate.providers.upstream_http import UpstreamHttp, resolve_secret
from zonegate.wire.anthropic_events import EventsToChatChunks
from zonegate.wire.anthropic_outbound import chat_to_messages_request, message_to_chat
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest

_CALLER_FAULT = frozenset({400, 413, 422})
_OVERLOADED = 529
# Error types of a mid-stream ``error`` event after which another try may well succeed.
_TRANSIENT_EVENTS = frozenset({"overloaded_error", "rate_limit_error"})
_MAX_MESSAGE = 300


class AnthropicProvider:
    """Chat completions from a pinned Claude model over Anthropic's Messages API."""

    def __init__(self, model_id: str, config: ModelConfig, secrets: SecretResolver) -> None:
        settings = config.provider
        if not isinstance(settings, AnthropicProviderConfig):
            raise ProviderStartError(
                f"model {model_id!r}: AnthropicProvider needs an 'anthropic' provider config, "
                f"got {settings.type!r}"
            )
        self.model_id = model_id
        # Images and PDFs are forwarded, but only inline or by URL (see anthropic_outbound), so
        # vision is not declared.
        self.capabilities = Capabilities(streaming=True, tools=True, json_mode=True)
        self._settings = settings
        self._secrets = secrets
        self._sampling = settings.sampling == "forward"
        self._url = URL(settings.base_url.rstrip("/") + "/messages")
        self._http = UpstreamHttp.for_endpoint(model_id, self._url, settings)

    async def start(self) -> None:
        """Resolve the key and headers and open the connection pool (no request is sent)."""
        self._http.start(self._url, self._settings, self._secrets, self._credentials)

    def _credentials(self) -> dict[str, str]:
        settings = self._settings
        key = resolve_secret(self.model_id, "api_key", settings.api_key, self._secrets)
        return {"x-api-key": key, "anthropic-version": settings.api_version}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        body = self._body(request, stream=False)
        status, content, headers = await self._http.post(self._url, body)
        if not 200 <= status < 300:
            raise self._status_error(status, content, headers)
        with self._naming():
            return message_to_chat(content, self._settings.model)

    async def stream(
        self, request: ChatCompletionRequest
    ) -> AsyncGenerator[ChatCompletionChunk, None]:
        """Yield chunks as Anthropic's events arrive; closing the iterator closes the connection."""
        body = self._body(request, stream=True)
        deadline = self._http.deadline()
        translator = EventsToChatChunks(self._settings.model)
        response = await self._http.open_stream(self._url, body, deadline)
        stopped = False
        produced = False  # content or a tool call, not just the role
        try:
            if not 200 <= response.status < 300:
                content = await self._http.read(self._http.body_of(response), deadline)
                raise self._status_error(response.status, content, response.headers)
            async with aclosing(self._http.data_lines(response, deadline)) as payloads:
                async for payload in payloads:
                    if not payload:
                        continue
                    event = self._parse(payload)
                    with self._naming(event, transient=not produced):
                        chunks = translator.feed(event)
                    stopped = stopped or _type_of(event) == "message_stop"
                    for chunk in chunks:
                        produced = produced or _has_output(chunk)
                        yield chunk
            if not stopped:
                raise UpstreamError(
                    f"the stream from the upstream for {self._http.where} ended before it "
                    "finished (no message_stop event)",
                    code="upstream_bad_response",
                )
        finally:
            # A response read to its end has already gone back to the pool; one abandoned
            # midway is closed, which drops the connection so the upstream stops generating.
            response.close()

    # -- helpers ------------------------------------------------------------------------------

    def _body(self, request: ChatCompletionRequest, *, stream: bool) -> bytes:
        settings = self._settings
        document = chat_to_messages_request(
            request,
            settings.model,
            settings.default_max_tokens,
            stream=stream,
            sampling=self._sampling,
        )
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    def _parse(self, payload: bytes) -> object:
        try:
            return json.loads(payload)
        except ValueError:
            raise UpstreamError(
                f"upstream for {self._http.where} streamed an event that is not JSON",
                code="upstream_bad_response",
            ) from None

    @contextmanager
    def _naming(self, event: object = None, *, transient: bool = False) -> Iterator[None]:
        """Translation errors, re-raised saying which model and host the answer came from; an
        ``error`` event of a transient type, before any output, marked retryable."""
        try:
            yield
        except UpstreamError as exc:
            kind = _error_of(event).get("type") if _type_of(event) == "error" else None
            raise UpstreamError(
                f"upstream for {self._http.where}: {exc.message}",
                code=exc.code,
                retryable=exc.retryable or (transient and kind in _TRANSIENT_EVENTS),
                retry_after=exc.retry_after,
            ) from exc

    def _status_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ZonegateError:
        where = self._http.where
        if status in _CALLER_FAULT:
            return InvalidRequest(
                f"upstream for {where} rejected the request (HTTP {status}): {_refusal(body)}",
                code="upstream_rejected_request",
            )
        if status == _OVERLOADED:
            return UpstreamError(
                f"upstream for {where} answered HTTP 529: Anthropic is overloaded",
                code="upstream_unavailable",
                retryable=True,
                retry_after=retry_after(headers.get("Retry-After")),
            )
        return self._http.status_error(status, headers)


def _refusal(body: bytes) -> str:
    """Anthropic's message and error type from an error body, shortened; the raw text of a body
    in another shape (a proxy's page)."""
    try:
        error = _error_of(json.loads(body))
    except ValueError:
        error = {}
    message, kind = error.get("message"), error.get("type")
    detail = message[:_MAX_MESSAGE] if isinstance(message, str) and message else ""
    if not error:
        detail = body.decode("utf-8", "replace").strip()[:_MAX_MESSAGE]
    if isinstance(kind, str) and kind:
        detail = f"{detail} ({kind})" if detail else kind
    return detail or "no reason given"


def _error_of(data: object) -> dict[str, Any]:
    """The ``error`` object of an Anthropic error body or ``error`` event (empty if none)."""
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _type_of(event: object) -> object:
    return event.get("type") if isinstance(event, dict) else None


def _has_output(chunk: ChatCompletionChunk) -> bool:
    return any(c.delta.content or c.delta.tool_calls or c.finish_reason for c in chunk.choices)
