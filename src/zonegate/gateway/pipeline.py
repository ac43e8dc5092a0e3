"""The chat pipeline: auth, parse, classify, decide, call (within the permitted set), audit.

Every step fails closed (the shared steps are in ``zonegate.gateway.steps``). A request is audited
exactly once, allowed or denied, and its response is released only after that record is
committed; a stream's last event follows the commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from zonegate.errors import (
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
from zonegate.gateway.steps import Pipeline
from zonegate.guards.injection.request import score_request
from zonegate.guards.injection.scorer import label_for
from zonegate.guards.output import ChunkGuard, OutputGuard, OutputRules, ToolRules, secret_types
from zonegate.guards.transforms import ChunkRestorer
from zonegate.wire.openai_chat import ChatCompletionChunk, ChatCompletionRequest

log = logging.getLogger("zonegate.gateway")


class ChatPipeline(Pipeline):
    """Chat requests in one wire dialect (OpenAI's by default; see ``dialect``)."""

    def __init__(self, services: GatewayServices, dialect: Dialect | None = None) -> None:
        super().__init__(services)
        self.dialect: Dialect = dialect or OpenAIDialect()
        self.endpoint = self.dialect.endpoint
        self.dispatch = Dispatcher(services)
        classes = services.views.classes
        self._ranks = {name: classes.rank(name) for name in classes}
        self._secret_types = secret_types(services.classifier.detectors)
        self._output_rules: dict[tuple[str | None, int], tuple[OutputRules, ToolRules | None]] = {}

    def error_response(self, exc: ZonegateError) -> Response:
        return self.dialect.error_response(exc)

    async def _run(self, request: Request, facts: RequestFacts) -> Response | SSEResponse:
        principal = await self._authenticate(request, facts)
        data, req = self.dialect.to_chat(await self._read_json(request))
        facts.requested_model = req.model
        facts.stream = req.stream
        facts.params = _params(req)
        classified = self._classify(data, request.headers, req.metadata, facts)
        self._route(req.model, facts)
        suspected = self._injection(req, facts)
        decision = self._decide(
            principal, req.model, classified, facts, injection_suspected=suspected
        )
        output = self._output_guard(facts.route, principal.clearance_rank, req)
        job = Job(req, data, classified.found, decision, output)
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
