"""What every request pipeline shares: authenticate, read, classify, decide, audit.

Each endpoint's pipeline (chat in any dialect, embeddings) subclasses ``Pipeline`` and writes its
``_run``; the steps here fail closed the same way everywhere. A request is audited exactly once,
allowed or denied, and a non-streaming response is released only after its record is committed.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from zonegate.audit.content import retained_content
from zonegate.errors import (
    BodyTooLarge,
    InvalidRequest,
    NotFound,
    PolicyDenied,
    ServiceUnavailable,
    ZonegateError,
)
from zonegate.gateway.errors import error_response
from zonegate.gateway.facts import RequestFacts
from zonegate.gateway.services import GatewayServices
from zonegate.gateway.sse import SSEResponse
from zonegate.guards.classify import Classification, collect_texts
from zonegate.policy.decide import decide
from zonegate.policy.types import Allow, Deny, PolicyInput, PrincipalView, Reason
from zonegate.policy.views import route_for
from zonegate.wire.labels import (
    DATA_CLASS_HEADER,
    DATA_CLASS_KEYS,
    PURPOSE_HEADER,
    PURPOSE_KEYS,
    from_metadata,
)

log = logging.getLogger("zonegate.gateway")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Classified:
    """What the detectors found and the class the request is treated as."""

    found: Classification
    effective_rank: int
    declared_rank: int | None


class Pipeline:
    """The shared steps; subclasses set ``endpoint`` and implement ``_run``."""

    endpoint = ""

    def __init__(self, services: GatewayServices) -> None:
        self.s = services
        self._max_body = services.loaded.config.server.max_body_bytes
        self._config_hash = services.loaded.hash

    async def handle(self, request: Request) -> Response | SSEResponse:
        facts = RequestFacts(self.endpoint, trace_id=request.headers.get("traceparent"))
        try:
            await self.s.route_state.refresh()
            response = await self._run(request, facts)
        except ZonegateError as exc:
            facts.fail(exc)
            response = self.error_response(exc)
        except Exception:  # a defect: still answer in the API's shape, and still audit it
            log.exception("request %s failed unexpectedly", facts.request_id)
            internal = ZonegateError(
                f"internal error in the gateway (request {facts.request_id}); nothing more was "
                "sent upstream. The gateway log has the details."
            )
            facts.fail(internal)
            response = self.error_response(internal)
        except BaseException:  # cancelled (shutdown, a caller that gave up): still on record
            facts.status, facts.error_class = 499, "cancelled"
            facts.error_message = "the request was cancelled before it was answered"
            with anyio.CancelScope(shield=True), contextlib.suppress(ServiceUnavailable):
                await self._audit(facts)
            raise
        if isinstance(response, SSEResponse):
            return response  # audited by the stream itself, before [DONE]
        try:
            await self._audit(facts)
        except ServiceUnavailable as exc:
            response = self.error_response(exc)
        response.headers.update(self._headers(facts))
        return response

    async def _run(self, request: Request, facts: RequestFacts) -> Response | SSEResponse:
        raise NotImplementedError

    def error_response(self, exc: ZonegateError) -> Response:
        """An error in the OpenAI shape; dialects with another shape override this."""
        return error_response(exc)

    # -- steps -------------------------------------------------------------------------------

    async def _authenticate(self, request: Request, facts: RequestFacts) -> PrincipalView:
        headers = request.headers
        key = await self.s.authenticator.authenticate(
            headers.get("authorization"), headers.get("x-api-key")
        )
        facts.principal_id, facts.team = key.key_id, key.team
        return self.s.principal(key)

    async def _read_json(self, request: Request) -> dict[str, Any]:
        return parse_json(await self._read_body(request))

    def _classify(
        self,
        data: Mapping[str, Any],
        headers: Headers,
        metadata: Mapping[str, str] | None,
        facts: RequestFacts,
    ) -> Classified:
        """Declared label, purpose, detector findings, effective class and retention rule."""
        classes = self.s.views.classes
        declared_rank = self._declared_rank(headers.get(DATA_CLASS_HEADER), metadata, facts)
        facts.purpose = headers.get(PURPOSE_HEADER) or from_metadata(metadata, PURPOSE_KEYS)
        found = self.s.classifier.classify(collect_texts(data))
        facts.findings = dict(found.counts)
        effective = classes.max_rank(declared_rank, found.max_rank)
        facts.effective_class = classes.name(effective)
        rule = self.s.loaded.config.retention_for(facts.effective_class)
        facts.content_mode, facts.retain_days = rule.content, rule.ttl_days
        return Classified(found, effective, declared_rank)

    def _route(self, model: str, facts: RequestFacts) -> None:
        route = route_for(self.s.views, model)
        facts.route = route.name if route is not None and not route.direct else None

    def _decide(
        self,
        principal: PrincipalView,
        model: str,
        classified: Classified,
        facts: RequestFacts,
        *,
        injection_suspected: bool = False,
    ) -> Allow:
        """The policy's decision; a denial is raised. Nothing is sent while the audit store is
        failing, as the request could not be recorded. The route's order is the one its
        promotion in force gives (``route_state``); the permitted set is the config's."""
        routing = self.s.route_state.current
        decision = decide(
            PolicyInput(
                principal=principal,
                route_name=model,
                effective_rank=classified.effective_rank,
                purpose=facts.purpose,
                unhealthy=self.s.health.unhealthy(),
                declared_rank=classified.declared_rank,
                finding_ranks=classified.found.ranks,
                injection_suspected=injection_suspected,
            ),
            routing.views,
        )
        facts.guard_verdicts["policy"] = {c.model_id: c.verdict.value for c in decision.candidates}
        if isinstance(decision, Deny):
            facts.decision, facts.reason_code = "deny", decision.reason.value
            raise _denial(decision, model)
        facts.decision, facts.reason_code = "allow", "permitted"
        facts.promotion_id = routing.promotion_for(model)
        if not self.s.writer.healthy:
            raise ServiceUnavailable(
                "the audit store is failing, so no request is sent upstream until it recovers",
                code="audit_unavailable",
            )
        return decision

    async def _read_body(self, request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self._max_body:
            raise _too_large(int(length), self._max_body)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self._max_body:
                    raise _too_large(size, self._max_body)
                chunks.append(chunk)
        except ClientDisconnect:
            raise InvalidRequest("the client closed the connection while sending") from None
        return b"".join(chunks)

    def _declared_rank(
        self, header: str | None, metadata: Mapping[str, str] | None, facts: RequestFacts
    ) -> int | None:
        declared = header or from_metadata(metadata, DATA_CLASS_KEYS)
        if declared is None:
            return None
        classes = self.s.views.classes
        if declared not in classes:
            raise InvalidRequest(
                f"unknown data class {declared!r} in the X-Zonegate-Data-Class header or "
                f"metadata; use one of {list(classes.names)}",
                code="unknown_data_class",
                param="X-Zonegate-Data-Class",
            )
        facts.declared_class = declared
        return classes.rank(declared)

    def _retained(
        self, facts: RequestFacts, data: dict[str, Any], text: str | None
    ) -> dict[str, Any] | None:
        """The content the data class's retention rule keeps; redaction uses the detectors."""
        return retained_content(
            facts.content_mode, data, text, redacted=self.s.transformer.redact_text
        )

    # -- bookkeeping -------------------------------------------------------------------------

    async def _audit(self, facts: RequestFacts) -> None:
        record = facts.to_record(instance_id=self.s.instance_id, config_hash=self._config_hash)
        try:
            await self.s.writer.write(record)
        finally:
            self.s.metrics.observe(facts)

    @staticmethod
    def _headers(facts: RequestFacts) -> dict[str, str]:
        headers = {"x-zonegate-request-id": facts.request_id}
        if facts.model_id:
            headers["x-zonegate-model"] = facts.model_id
        if facts.zone:
            headers["x-zonegate-zone"] = facts.zone
        if facts.effective_class:
            headers["x-zonegate-data-class"] = facts.effective_class
        if facts.injection_label not in (None, "benign"):
            headers["x-zonegate-injection"] = facts.injection_label
        return headers


def _denial(decision: Deny, model: str) -> ZonegateError:
    if decision.reason is Reason.UNKNOWN_ROUTE:
        return NotFound(
            f"unknown model or route {model!r}; GET /v1/models lists what this key may use",
            code="model_not_found",
            param="model",
        )
    if decision.reason is Reason.NO_HEALTHY_MODEL:
        return ServiceUnavailable(decision.message, code=decision.reason.value)
    return PolicyDenied(decision.message, code=decision.reason.value)


def _too_large(size: int, limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"the request body is {size} bytes, over this gateway's limit of {limit} bytes "
        "(server.max_body_bytes); send less context or raise the limit"
    )


def parse_json(body: bytes) -> dict[str, Any]:
    if not body:
        raise InvalidRequest("the request body is empty; send a JSON chat-completions request")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}",
            code="invalid_json",
        ) from None
    except UnicodeDecodeError:
        raise InvalidRequest(
            "the request body is not UTF-8 text; send JSON encoded as UTF-8", code="invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest("the request body must be a JSON object", code="invalid_json")
    return data


def validated(model: type[M], data: Mapping[str, Any], what: str) -> M:
    """``data`` as ``model``, or ``InvalidRequest`` naming the first five problems by path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        param = ".".join(str(p) for p in errors[0]["loc"])
        described = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors[:5]
        )
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidRequest(
            f"invalid {what} request: {described}{more}", param=param or None
        ) from None
