"""One error hierarchy for the whole gateway.

Each class carries its HTTP status, its OpenAI error ``type`` and a stable ``code``; the gateway
maps any of them to a response in exactly one place (``zonegate.gateway.errors``). Messages say
what was wrong, where, and how to fix it.
"""

from __future__ import annotations

from typing import ClassVar


class ZonegateError(Exception):
    """Base class: an error with an HTTP status and a stable machine-readable code."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    default_code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.param = param
        self.headers = headers or {}

    def to_body(self) -> dict[str, object]:
        """The OpenAI error shape: ``{"error": {"message", "type", "param", "code"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(ZonegateError):
    status = 400
    error_type = "invalid_request_error"
    default_code = "invalid_request"


class BodyTooLarge(ZonegateError):
    status = 413
    error_type = "invalid_request_error"
    default_code = "request_too_large"


class AuthenticationFailed(ZonegateError):
    status = 401
    error_type = "authentication_error"
    default_code = "invalid_api_key"


class PermissionDenied(ZonegateError):
    status = 403
    error_type = "permission_error"
    default_code = "permission_denied"


class PolicyDenied(PermissionDenied):
    """The policy refused the request; ``code`` is the policy's stable reason code."""

    default_code = "policy_denied"


class NotFound(ZonegateError):
    status = 404
    error_type = "invalid_request_error"
    default_code = "model_not_found"


class ServiceUnavailable(ZonegateError):
    """A dependency the gateway must not run without (audit store, detectors) is failing."""

    status = 503
    error_type = "server_error"
    default_code = "service_unavailable"


class UpstreamError(ZonegateError):
    """The upstream failed. ``retryable``: trying the same model again may help and cannot
    double-bill a finished answer (the connection never opened, 429, 502/503/504);
    ``retry_after``: seconds the upstream asked for (``Retry-After``)."""

    status = 502
    error_type = "upstream_error"
    default_code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, param=param, headers=headers)
        self.retryable = retryable
        self.retry_after = retry_after


class UpstreamTimeout(UpstreamError):
    status = 504
    default_code = "upstream_timeout"


class UpstreamUnavailable(UpstreamError):
    """The gateway did not call the model: its circuit is open or it is at capacity."""

    status = 503
    default_code = "model_unavailable"


class ConfigError(Exception):
    """The configuration is invalid. ``problems`` lists every error found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigProblem:
    """One configuration error: where it is (file, line, key path) and what to do about it."""

    __slots__ = ("line", "message", "path", "source")

    def __init__(self, message: str, *, path: str = "", source: str = "", line: int | None = None):
        self.message = message
        self.path = path
        self.source = source
        self.line = line

    def __str__(self) -> str:
        where = self.source or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        if self.path:
            where += f": {self.path}"
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigProblem({self!s})"
