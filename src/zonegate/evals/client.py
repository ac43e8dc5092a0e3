"""The evaluation principal's line into an in-process gateway.

An eval is traffic too: every request goes through the real pipeline (authentication, policy,
detection, guards, audit) over HTTP to the ASGI app in this process, with the header
``X-Zonegate-Purpose: evaluation``. The caller is an API key created for the principal ``eval``
in the team given, held only in memory and revoked when the gateway closes, so its plaintext
never exists anywhere else; creating and revoking it leave two entries in the admin trail.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from zonegate.config.load import LoadedConfig
from zonegate.errors import InvalidRequest
from zonegate.gateway.app import app_for
from zonegate.gateway.services import GatewayServices, build_services
from zonegate.store.db import Database
from zonegate.store.keys import KeyRepository

EVAL_PRINCIPAL = "eval"
PURPOSE = "evaluation"
# Codes the gateway answers with a 5xx that another try would not change: a policy outcome.
FINAL_CODES = frozenset({"output_blocked", "tool_call_blocked"})


@dataclass(frozen=True, slots=True)
class ChatOutcome:
    """One chat-completions call as the runner sees it: the answer, or the error code."""

    status: int  # HTTP status; 0 when no response came back (timeout, transport failure)
    latency_ms: float
    output: str | None = None
    served_model: str | None = None  # the response's ``model``, as the upstream reported it
    model_id: str | None = None  # x-zonegate-model: the configured model that answered
    system_fingerprint: str | None = None
    request_id: str | None = None  # x-zonegate-request-id: the audit record of this call
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def retryable(self) -> bool:
        """Rate limits, server-side failures and timeouts; never a policy denial (4xx)."""
        if self.ok or self.error_code in FINAL_CODES:
            return False
        return self.status == 0 or self.status == 429 or self.status >= 500


class GatewayClient:
    """Sends chat-completions requests as the evaluation principal."""

    def __init__(self, client: httpx.AsyncClient, api_key: str, *, purpose: str = PURPOSE) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {api_key}", "X-Zonegate-Purpose": purpose}

    async def chat(
        self,
        body: Mapping[str, Any],
        *,
        time_limit: float | None = None,
        traceparent: str | None = None,
    ) -> ChatOutcome:
        """One non-streaming call; errors come back as an outcome, never raised."""
        headers = dict(self._headers)
        if traceparent is not None:
            headers["traceparent"] = traceparent
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(time_limit):
                response = await self._client.post(
                    "/v1/chat/completions", json=dict(body), headers=headers
                )
        except TimeoutError:
            return ChatOutcome(
                status=0,
                latency_ms=_ms(t0),
                error_code="timeout",
                error_message=f"no answer within {time_limit:g} s",
            )
        except httpx.HTTPError as exc:
            return ChatOutcome(
                status=0,
                latency_ms=_ms(t0),
                error_code="transport_error",
                error_message=f"{type(exc).__name__}: {exc}",
            )
        return _outcome(response, _ms(t0))


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000.0, 3)


def _outcome(response: httpx.Response, latency_ms: float) -> ChatOutcome:
    headers = response.headers
    common: dict[str, Any] = {
        "status": response.status_code,
        "latency_ms": latency_ms,
        "model_id": headers.get("x-zonegate-model"),
        "request_id": headers.get("x-zonegate-request-id"),
    }
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "choices" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        return ChatOutcome(
            **common,
            error_code=str(error.get("code") or f"http_{response.status_code}"),
            error_message=str(error.get("message") or response.text[:500]),
            retry_after=_retry_after(headers.get("retry-after")),
        )
    choices = body.get("choices") or [{}]
    message = choices[0].get("message") or {}
    usage = body.get("usage") or {}
    return ChatOutcome(
        **common,
        output=message.get("content") or "",
        served_model=body.get("model"),
        system_fingerprint=body.get("system_fingerprint"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
    )


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


@asynccontextmanager
async def open_gateway(
    loaded: LoadedConfig,
    db: Database,
    *,
    team: str,
    principal: str = EVAL_PRINCIPAL,
    prepare: Callable[[GatewayServices], None] | None = None,
) -> AsyncIterator[GatewayClient]:
    """A started in-process gateway over ``db`` and a client holding a fresh evaluation key.

    ``prepare`` may adjust the services before they start (tests swap providers with it).
    Closing stops the providers and the audit writer (after flushing it) and revokes the key.
    """
    if team not in loaded.config.teams:
        known = ", ".join(sorted(loaded.config.teams)) or "none"
        raise InvalidRequest(
            f"unknown team {team!r} for the evaluation key: {loaded.source} defines {known}; "
            "pass one of those with --team",
            code="invalid_team",
        )
    instance = f"{socket.gethostname()}:{os.getpid()}:eval"
    services = build_services(loaded, db, instance_id=instance)
    if prepare is not None:
        prepare(services)
    keys = KeyRepository(db)
    created = keys.create(principal, team=team, role="user", actor="eval")
    try:
        try:
            await services.start()
            app = app_for(services, manage_services=False)
            # A defect in the app answers 500 (retried, then recorded) instead of raising here.
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://zonegate") as http:
                yield GatewayClient(http, created.secret)
        finally:
            await services.close()
    finally:
        keys.revoke(created.key_id, actor="eval")
