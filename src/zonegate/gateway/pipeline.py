"""The one request pipeline: auth, parse, classify, decide, call (within the permitted set), audit.

Every step fails closed. A request is audited exactly once, allowed or denied, and its response is
released only after that record is committed; a stream's ``[DONE]`` follows the commit.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
from pydantic import ValidationError
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
from zonegate.gateway.dialect import Dialect, OpenAIDialect, StreamEncoder
from zonegate.gateway.dispatch import (
    Dispatcher,
    Job,
    Opened,
    aclose,
    json_content,
)
from zonegate.gateway.facts import RequestFacts
from zonegate.gateway.services import GatewayServices
from zonegate.gateway.sse import SSEResponse
from zonegate.guards.classify import collect_texts
from zonegate.guards.injection.request import score_request
from zonegate.guards.injection.scorer import label_for
from zonegate.guards.output import ChunkGuard, OutputGuard, OutputRules, ToolRules, secret_types
from zonegate.guards.transforms import ChunkRestorer
from zonegate.policy.decide import decide
from zonegate.policy.types import Deny, PolicyInput, Reason
from zonegate.policy.views import route_for
from zonegate.wire.labels import (
    DATA_CLASS_HEADER,
    DATA_CLASS_KEYS,
    PURPOSE_HEADER,
    PURPOSE_KEYS,
    from_metadata,
)
from zonegate.wire.openai_chat import ChatCompletionChunk, ChatCompletionRequest

log = logging.getLogger("zonegate.gateway")


class ChatPipeline:
    """Chat requests in one wire dialect (OpenAI's by default; see ``dialect``)."""

    def __init__(self, services: GatewayServices, dialect: Dialect | None = None) -> None:
        self.s = services
        self.dialect: Dialect = dialect or OpenAIDialect()
        self._max_body = services.loaded.config.server.max_body_bytes
        self._config_hash = services.loaded.hash
        self.dispatch = Dispatcher(services)
        classes = services.views.classes
        self._ranks = {name: classes.rank(name) for name in classes}
        self._secret_types = secret_types(services.classifier.detectors)
        self._output_rules: dict[tuple[str | None, int], tuple[OutputRules, ToolRules | None]] = {}

    async def handle(self, request: Request) -> Response | SSEResponse:
        facts = RequestFacts(self.dialect.endpoint, trace_id=request.headers.get("traceparent"))
        try:
            response = await self._run(request, facts)
        except ZonegateError as exc:
            facts.fail(exc)
            response = self.dialect.error_response(exc)
        except Exception:  # a defect: still answer in the API's shape, and still audit it
            log.exception("request %s failed unexpectedly", facts.request_id)
            internal = ZonegateError(
                f"internal error in the gateway (request {facts.request_id}); nothing more was "
                "sent upstream. The gateway log has the details."
            )
            facts.fail(internal)
            response = self.dialect.error_response(internal)
        if isinstance(response, SSEResponse):
            return response  # audited by the stream itself, before [DONE]
        try:
            await self._audit(facts)
        except ServiceUnavailable as exc:
            response = self.dialect.error_response(exc)
        response.headers.update(self._headers(facts))
        return response

    # -- steps -------------------------------------------------------------------------------

    async def _run(self, request: Request, facts: RequestFacts) -> Response | SSEResponse:
        headers = request.headers
        key = await self.s.authenticator.authenticate(
            headers.get("authorization"), headers.get("x-api-key")
        )
        facts.principal_id, facts.team = key.key_id, key.team
        principal = self.s.principal(key)

        body = await self._read_body(request)
        data = self.dialect.to_chat(_parse_json(body))
        req = _validate(data)
        facts.requested_model = req.model
        facts.stream = req.stream
        facts.params = _params(req)

        classes = self.s.views.classes
        declared_rank = self._declared_rank(headers.get(DATA_CLASS_HEADER), req.metadata, facts)
        facts.purpose = headers.get(PURPOSE_HEADER) or from_metadata(req.metadata, PURPOSE_KEYS)
        found = self.s.classifier.classify(collect_texts(data))
        facts.findings = dict(found.counts)
        effective = classes.max_rank(declared_rank, found.max_rank)
        facts.effective_class = classes.name(effective)
        rule = self.s.loaded.config.retention_for(facts.effective_class)
        facts.content_mode, facts.retain_days = rule.content, rule.ttl_days

        route = route_for(self.s.views, req.model)
        facts.route = route.name if route is not None and not route.direct else None
        suspected = self._injection(req, facts)
        decision = decide(
            PolicyInput(
                principal=principal,
                route_name=req.model,
                effective_rank=effective,
                purpose=facts.purpose,
                unhealthy=self.s.health.unhealthy(),
                declared_rank=declared_rank,
                finding_ranks=found.ranks,
                injection_suspected=suspected,
            ),
            self.s.views,
        )
        facts.guard_verdicts["policy"] = {c.model_id: c.verdict.value for c in decision.candidates}
        if isinstance(decision, Deny):
            facts.decision, facts.reason_code = "deny", decision.reason.value
            raise _denial(decision, req.model)
        facts.decision, facts.reason_code = "allow", "permitted"
        if not self.s.writer.healthy:
            raise ServiceUnavailable(
                "the audit store is failing, so no request is sent upstream until it recovers",
                code="audit_unavailable",
            )
        output = self._output_guard(facts.route, principal.clearance_rank, req)
        job = Job(req, data, found, decision, output)
        if req.stream:
            return await self._stream(job, facts)
        completion = await self.dispatch.complete(job, facts)
        text = completion.choices[0].message.content if completion.choices else None
        facts.content = self._retained(facts, data, text)
        return Response(
            self.dialect.completion(completion, req.model), media_type="application/json"
        )

    def _injection(self, req: ChatCompletionRequest, facts: RequestFacts) -> bool:
        """Score the caller's turn and tool results apart; whether either crosses the route's
        threshold. A scorer failure refuses the request (fail closed)."""
        try:
            verdict = score_request(self.s.injection, req)
        except Exception as exc:
            raise ServiceUnavailable(
                f"the prompt-injection scorer failed ({type(exc).__name__}); the request was "
                "not sent anywhere",
                code="injection_scorer_failed",
            ) from exc
        facts.guard_verdicts["injection"] = verdict.to_audit()
        route = self.s.loaded.config.routes.get(facts.route or "")
        facts.injection_label = label_for(verdict.top)
        return verdict.suspected(route.injection.threshold if route is not None else None)

    def _retained(
        self, facts: RequestFacts, data: dict[str, Any], text: str | None
    ) -> dict[str, Any] | None:
        """The content the data class's retention rule keeps; redaction uses the detectors."""
        return retained_content(
            facts.content_mode, data, text, redacted=self.s.transformer.redact_text
        )

    def _output_guard(
        self, route_name: str | None, clearance_rank: int, req: ChatCompletionRequest
    ) -> OutputGuard | None:
        """The route's output checks for this caller; ``None`` when the route allows all."""
        key = (route_name, clearance_rank)
        cached = self._output_rules.get(key)
        if cached is None:
            route = self.s.loaded.config.routes.get(route_name or "")
            policy = route.output if route is not None else None
            tools = route.tools if route is not None else None
            every_class = policy is not None and policy.pii_scope == "all"
            rules = OutputRules(
                secrets=policy.secrets if policy is not None else "redact",
                pii=policy.pii if policy is not None else "allow",
                secret_types=self._secret_types,
                ranks=self._ranks,
                clearance_rank=-1 if every_class else clearance_rank,
            )
            tool_rules = None
            if tools is not None:
                allowed = frozenset(tools.allowed) if tools.allowed is not None else None
                tool_rules = ToolRules(allowed, tools.schemas)
            cached = self._output_rules[key] = (rules, tool_rules)
        return OutputGuard.build(self.s.classifier, cached[0], cached[1], req.tools)

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

    async def _stream(self, job: Job, facts: RequestFacts) -> SSEResponse:
        req = job.request
        opened = await self.dispatch.open_stream(job, facts)
        facts.ttft_ms = round(facts.elapsed_ms(), 3)
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        encoder = self.dialect.encoder(req.model, include_usage)
        restorer = opened.prepared.chunk_restorer(json_content(req))
        guard = job.output.chunk_guard() if job.output is not None else None
        events = self._events(opened, guard, restorer, facts, encoder, job.body)
        return SSEResponse(events, self._headers(facts))

    async def _events(
        self,
        opened: Opened,
        guard: ChunkGuard | None,
        restorer: ChunkRestorer | None,
        facts: RequestFacts,
        encoder: StreamEncoder,
        data: dict[str, Any],
    ) -> AsyncIterator[bytes]:
        parts: list[str] = []
        chunks = opened.chunks
        try:
            try:
                chunk = opened.first
                while chunk is not None:
                    if guard is not None:  # the upstream's text, before pseudonyms come back
                        chunk = guard.guard(chunk)
                    if restorer is not None:
                        chunk = restorer.restore(chunk)
                    for event in self._chunk_events(chunk, facts, encoder, parts):
                        yield event
                    chunk = await anext(chunks, None)
                # A stream may end without a finish_reason: release what is still held back.
                for event in self._tails(guard, restorer, facts, encoder, parts):
                    yield event
            except ZonegateError as exc:  # the upstream failed mid-stream, or output was blocked
                facts.fail(exc)
                for event in self._tails(guard, restorer, facts, encoder, parts):
                    yield event
                for event in encoder.error(exc):
                    yield event
            finally:
                with anyio.CancelScope(shield=True):
                    await aclose(chunks)
                if guard is not None and (verdict := guard.verdict()) is not None:
                    facts.guard_verdicts["output"] = verdict
        except BaseException:
            facts.status, facts.error_class = 499, "client_disconnected"
            facts.error_message = "the client closed the stream before it ended"
            with anyio.CancelScope(shield=True):
                facts.content = self._retained(facts, data, "".join(parts))
                # If this fails the writer has logged it; nobody is left to tell.
                with contextlib.suppress(ServiceUnavailable):
                    await self._audit(facts)
            raise
        facts.content = self._retained(facts, data, "".join(parts))
        try:
            await self._audit(facts)
        except ServiceUnavailable as exc:
            for event in encoder.error(exc):
                yield event
            return
        if facts.error_class is not None:
            return  # the error event ended the stream: no [DONE]
        for event in encoder.done():
            yield event

    def _tails(
        self,
        guard: ChunkGuard | None,
        restorer: ChunkRestorer | None,
        facts: RequestFacts,
        encoder: StreamEncoder,
        parts: list[str],
    ) -> list[bytes]:
        """Events for text the output guard and the pseudonym restorer still hold back."""
        tails = guard.flush() if guard is not None else []
        if restorer is not None:
            tails = [restorer.restore(t) for t in tails] + restorer.flush()
        return [e for t in tails for e in self._chunk_events(t, facts, encoder, parts)]

    def _chunk_events(
        self,
        chunk: ChatCompletionChunk,
        facts: RequestFacts,
        encoder: StreamEncoder,
        parts: list[str],
    ) -> list[bytes]:
        if chunk.model:
            facts.served_model = chunk.model
        for choice in chunk.choices:
            if choice.delta.content:
                parts.append(choice.delta.content)
        if chunk.usage is not None:
            self.dispatch.account(facts, chunk.usage)
        return encoder.chunk(chunk)

    # -- bookkeeping -------------------------------------------------------------------------

    async def _audit(self, facts: RequestFacts) -> None:
        record = facts.to_record(instance_id=self.s.instance_id, config_hash=self._config_hash)
        await self.s.writer.write(record)

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


def _parse_json(body: bytes) -> dict[str, Any]:
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


def _validate(data: dict[str, Any]) -> ChatCompletionRequest:
    try:
        return ChatCompletionRequest.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        param = ".".join(str(p) for p in first["loc"])
        described = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors[:5]
        )
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidRequest(
            f"invalid chat-completions request: {described}{more}", param=param or None
        ) from None


def _params(req: ChatCompletionRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"stream": req.stream}
    if req.temperature is not None:
        params["temperature"] = req.temperature
    if req.top_p is not None:
        params["top_p"] = req.top_p
    limit = req.output_limit()
    if limit is not None:
        params["max_tokens"] = limit
    if req.tools:
        params["tools"] = [t.get("function", {}).get("name") for t in req.tools]
    return params
