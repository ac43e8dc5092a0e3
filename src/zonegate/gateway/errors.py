"""The one place where errors become HTTP responses (OpenAI error shape, correct status)."""

from __future__ import annotations

import json
import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from zonegate.errors import ZonegateError

log = logging.getLogger("zonegate.gateway")

_HTTP_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error"}


def error_response(exc: ZonegateError, headers: dict[str, str] | None = None) -> Response:
    merged = {**exc.headers, **(headers or {})}
    return Response(
        json.dumps(exc.to_body()),
        status_code=exc.status,
        media_type="application/json",
        headers=merged,
    )


def error_event(exc: ZonegateError) -> bytes:
    """An error as an SSE event, for failures after a stream has started."""
    return b"data: " + json.dumps(exc.to_body()).encode() + b"\n\n"


async def handle_zonegate_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ZonegateError)
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such path, wrong method) in the OpenAI shape."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        message = (
            f"no such endpoint: {where}; see /v1/chat/completions, /v1/messages, /v1/embeddings "
            "and /v1/models"
        )
        code = "unknown_endpoint"
    else:
        message = f"{exc.detail}: {where}"
        code = "method_not_allowed" if exc.status_code == 405 else "invalid_request"
    body = {
        "error": {
            "message": message,
            "type": _HTTP_TYPES.get(exc.status_code, "invalid_request_error"),
            "param": None,
            "code": code,
        }
    }
    return Response(
        json.dumps(body),
        status_code=exc.status_code,
        media_type="application/json",
        headers=dict(exc.headers or {}),
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    body = {
        "error": {
            "message": "internal error in the gateway; the request was not completed "
            "(see the gateway log)",
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }
    return Response(json.dumps(body), status_code=500, media_type="application/json")
