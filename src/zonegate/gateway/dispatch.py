"""The upstream side of a request: try the permitted candidates in order, each with the request
transformed as the policy requires for its zone, and restore pseudonyms in what comes back.

A candidate is tried only if the policy kept it; a candidate whose required transform cannot be
applied (sensitive data where no placeholder can stand) is skipped like a failed one. The caller's
untransformed request never reaches a candidate that needs a transform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from zonegate.errors import PolicyDenied, UpstreamError, ZonegateError
from zonegate.gateway.facts import RequestFacts
from zonegate.gateway.services import GatewayServices
from zonegate.guards.classify import Classification
from zonegate.guards.output import OutputGuard
from zonegate.guards.transforms import ChunkRestorer, Pseudonyms, UntransformableData
from zonegate.policy.types import Allow
from zonegate.wire.openai_chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Usage,
)

_MILLION = Decimal(1_000_000)
_JSON_FORMATS = frozenset({"json_object", "json_schema"})


@dataclass(frozen=True, slots=True)
class Job:
    """A request the policy allowed: as the caller sent it, what was found in it, and the plan."""

    request: ChatCompletionRequest
    body: dict[str, Any]
    found: Classification
    decision: Allow
    output: OutputGuard | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """The request as one candidate receives it, and how to restore its answers."""

    model_id: str
    request: ChatCompletionRequest
    pseudonyms: Pseudonyms | None

    def restore(self, completion: ChatCompletion, json_content: bool) -> ChatCompletion:
        if self.pseudonyms is None:
            return completion
        return self.pseudonyms.restore_completion(completion, json_content=json_content)

    def chunk_restorer(self, json_content: bool) -> ChunkRestorer | None:
        if self.pseudonyms is None:
            return None
        return self.pseudonyms.chunk_restorer(json_content=json_content)


@dataclass(frozen=True, slots=True)
class Opened:
    """A stream that produced its first chunk (or ended at once) on ``prepared``'s model."""

    prepared: Prepared
    chunks: AsyncIterator[ChatCompletionChunk]
    first: ChatCompletionChunk | None


class Dispatcher:
    def __init__(self, services: GatewayServices) -> None:
        self.s = services

    async def complete(self, job: Job, facts: RequestFacts) -> ChatCompletion:
        last: ZonegateError | None = None
        for prepared in self._attempts(job, facts):
            if isinstance(prepared, ZonegateError):
                last = prepared
                continue
            try:
                completion = await self.s.providers[prepared.model_id].complete(prepared.request)
            except UpstreamError as exc:
                last = exc
                continue
            facts.served_model = completion.model
            self.account(facts, completion.usage)
            if job.output is not None:  # on the upstream's text, before pseudonyms come back
                try:
                    completion = job.output.check(completion)
                finally:
                    record_output(job.output, facts)
            return prepared.restore(completion, json_content(job.request))
        assert last is not None
        raise last

    async def open_stream(self, job: Job, facts: RequestFacts) -> Opened:
        """The first permitted candidate whose stream yields a first chunk."""
        last: ZonegateError | None = None
        for prepared in self._attempts(job, facts):
            if isinstance(prepared, ZonegateError):
                last = prepared
                continue
            chunks = self.s.providers[prepared.model_id].stream(prepared.request)
            try:
                first = await anext(chunks)
            except StopAsyncIteration:
                first = None
            except UpstreamError as exc:
                last = exc
                await aclose(chunks)
                continue
            return Opened(prepared, chunks, first)
        assert last is not None
        raise last

    def _attempts(self, job: Job, facts: RequestFacts) -> Iterator[Prepared | ZonegateError]:
        decision = job.decision
        plans = {c.model_id: c.transforms for c in decision.candidates}
        for model_id in (decision.model_id, *decision.fallbacks):
            facts.fallback_chain.append(model_id)
            facts.model_id = model_id
            facts.zone = self.s.loaded.config.models[model_id].zone
            plan = plans.get(model_id, ())
            if not plan:
                facts.guard_verdicts.pop("transforms", None)
                yield Prepared(model_id, job.request, None)
                continue
            try:
                result = self.s.transformer.transform(job.body, dict(plan), job.found)
            except UntransformableData as exc:
                yield PolicyDenied(
                    f"zone {facts.zone!r} may receive this request only transformed "
                    f"({_describe(plan)}), and {exc}; send the value where a placeholder can "
                    "stand, or use a route with a zone cleared for it",
                    code="untransformable_data",
                )
                continue
            facts.guard_verdicts["transforms"] = {
                "model": model_id,
                "plan": dict(plan),
                "replaced": dict(result.counts),
            }
            yield Prepared(
                model_id, ChatCompletionRequest.model_validate(result.body), result.pseudonyms
            )

    def account(self, facts: RequestFacts, usage: Usage | None) -> None:
        """Tokens and cost of the model that served the request."""
        if usage is None:
            return
        facts.prompt_tokens, facts.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        assert facts.model_id is not None
        pricing = self.s.loaded.config.models[facts.model_id].pricing
        if pricing is not None:
            facts.cost = (
                pricing.input_per_mtok * usage.prompt_tokens
                + pricing.output_per_mtok * usage.completion_tokens
            ) / _MILLION


def record_output(guard: OutputGuard, facts: RequestFacts) -> None:
    """The output guard's verdict (counts by type) into the audit, when it acted."""
    verdict = guard.verdict()
    if verdict is not None:
        facts.guard_verdicts["output"] = verdict


def json_content(req: ChatCompletionRequest) -> bool:
    """Whether the reply's content is JSON (pseudonyms are then restored JSON-escaped)."""
    fmt = req.response_format
    return fmt is not None and fmt.get("type") in _JSON_FORMATS


def _describe(plan: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{action} {cls}" for cls, action in plan)


async def aclose(chunks: AsyncIterator[ChatCompletionChunk]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
