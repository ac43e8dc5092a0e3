"""The upstream side of a request: try the permitted candidates in order, each with the request
transformed as the policy requires for its zone, and restore pseudonyms in what comes back.

A candidate is tried only if the policy kept it; a candidate whose required transform cannot be
applied (sensitive data where no placeholder can stand) is skipped like a failed one. The caller's
untransformed request never reaches a candidate that needs a transform.

Each call goes through the model's guard (``zonegate.gateway.resilience``): a slot under its
concurrency limit and its circuit breaker, retries with jittered backoff for retryable failures,
and for streams a deadline on the first output. A stream is retried or moved to the next candidate
only before its first chunk is handed to the caller; after that a failure ends the stream.
Failed tries are listed in the audit record (``guard_verdicts.upstream``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from zonegate.errors import (
    InvalidRequest,
    PolicyDenied,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    ZonegateError,
)
from zonegate.gateway.facts import RequestFacts
from zonegate.gateway.resilience import ModelGuard
from zonegate.gateway.services import GatewayServices
from zonegate.guards.classify import Classification
from zonegate.guards.output import OutputGuard
from zonegate.guards.transforms import ChunkRestorer, Pseudonyms, UntransformableData
from zonegate.policy.types import Allow
from zonegate.providers.base import EmbeddingProvider
from zonegate.wire.openai_chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Usage,
)
from zonegate.wire.openai_embeddings import EmbeddingRequest, EmbeddingResponse

T = TypeVar("T")
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
class Attempt:
    """One candidate, and the body it receives when its zone needs a transform."""

    model_id: str
    body: dict[str, Any] | None
    pseudonyms: Pseudonyms | None


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
            provider = self.s.providers[prepared.model_id]
            try:
                completion = await self._with_retries(
                    prepared.model_id, facts, partial(provider.complete, prepared.request)
                )
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
        """The first permitted candidate whose stream produces its first output in time."""
        last: ZonegateError | None = None
        for prepared in self._attempts(job, facts):
            if isinstance(prepared, ZonegateError):
                last = prepared
                continue
            try:
                return await self._with_retries(
                    prepared.model_id, facts, partial(self._open, prepared), hold=True
                )
            except UpstreamError as exc:
                last = exc
        assert last is not None
        raise last

    async def _with_retries(
        self,
        model_id: str,
        facts: RequestFacts,
        call: Callable[[], Awaitable[T]],
        *,
        hold: bool = False,
    ) -> T:
        """``call`` under the model's guard, tried again while the guard says a retry may help.

        With ``hold`` the slot stays taken after success: the opened stream gives it back.
        """
        guard = self.s.guards[model_id]
        attempt = 0
        while True:
            attempt += 1
            try:
                guard.acquire()
            except UpstreamUnavailable as exc:  # circuit open or at capacity: next candidate
                _note_failure(facts, model_id, attempt, exc)
                raise
            keep = False
            try:
                result = await call()
            except UpstreamError as exc:
                guard.failed()
                _note_failure(facts, model_id, attempt, exc)
                delay = guard.retry_delay(attempt, exc)
                if delay is None:
                    raise
            except ZonegateError:
                guard.succeeded()  # the upstream answered: the request itself was refused
                raise
            except BaseException:
                guard.abandoned()
                raise
            else:
                if not hold:
                    guard.succeeded()
                keep = hold
                return result
            finally:
                if not keep:
                    guard.release()
            await asyncio.sleep(delay)

    async def _open(self, prepared: Prepared) -> Opened:
        """Start the stream and wait for its first output (content, a tool call or the end),
        within the model's ``first_token_timeout``. Role-only chunks before it are kept."""
        guard = self.s.guards[prepared.model_id]
        chunks = self.s.providers[prepared.model_id].stream(prepared.request)
        head: list[ChatCompletionChunk] = []
        try:
            async with asyncio.timeout(guard.settings.first_token_timeout):
                async for chunk in chunks:
                    head.append(chunk)
                    if _has_output(chunk):
                        break
        except TimeoutError as exc:
            await aclose(chunks)
            raise UpstreamTimeout(
                f"model {prepared.model_id!r} produced no output within its first-token timeout "
                f"of {guard.settings.first_token_timeout:g} s (resilience.first_token_timeout)",
                code="upstream_first_token_timeout",
            ) from exc
        except BaseException:
            await aclose(chunks)
            raise
        return Opened(prepared, _Tracked(chunks, head[1:], guard), head[0] if head else None)

    def _attempts(self, job: Job, facts: RequestFacts) -> Iterator[Prepared | ZonegateError]:
        for attempt in self.candidates(job.decision, job.body, job.found, facts):
            if isinstance(attempt, ZonegateError):
                yield attempt
            elif attempt.body is None:
                yield Prepared(attempt.model_id, job.request, None)
            else:
                request = ChatCompletionRequest.model_validate(attempt.body)
                yield Prepared(attempt.model_id, request, attempt.pseudonyms)

    async def embed(
        self,
        request: EmbeddingRequest,
        body: dict[str, Any],
        found: Classification,
        decision: Allow,
        facts: RequestFacts,
    ) -> EmbeddingResponse:
        """Embeddings from the first permitted candidate that serves them."""
        last: ZonegateError | None = None
        for attempt in self.candidates(decision, body, found, facts):
            if isinstance(attempt, ZonegateError):
                last = attempt
                continue
            provider = self.s.providers[attempt.model_id]
            if not provider.capabilities.embeddings or not isinstance(provider, EmbeddingProvider):
                last = InvalidRequest(
                    f"model {attempt.model_id!r} does not serve embeddings; use a route whose "
                    "candidates are embedding models",
                    code="embeddings_unsupported",
                    param="model",
                )
                continue
            outgoing = request
            if attempt.body is not None:  # transformed for this zone: placeholders, no restore
                outgoing = EmbeddingRequest.model_validate(attempt.body)
            try:
                result = await self._with_retries(
                    attempt.model_id, facts, partial(provider.embed, outgoing)
                )
            except UpstreamError as exc:
                last = exc
                continue
            facts.served_model = result.model
            self.account(facts, Usage(prompt_tokens=result.usage.prompt_tokens))
            return result
        assert last is not None
        raise last

    def candidates(
        self, decision: Allow, body: dict[str, Any], found: Classification, facts: RequestFacts
    ) -> Iterator[Attempt | ZonegateError]:
        """Each permitted candidate in order, with the body transformed as its zone requires
        (``body`` None: send the caller's request as it is)."""
        plans = {c.model_id: c.transforms for c in decision.candidates}
        for model_id in (decision.model_id, *decision.fallbacks):
            facts.fallback_chain.append(model_id)
            facts.model_id = model_id
            facts.zone = self.s.loaded.config.models[model_id].zone
            plan = plans.get(model_id, ())
            if not plan:
                facts.guard_verdicts.pop("transforms", None)
                yield Attempt(model_id, None, None)
                continue
            try:
                result = self.s.transformer.transform(body, dict(plan), found)
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
            yield Attempt(model_id, result.body, result.pseudonyms)

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


def _has_output(chunk: ChatCompletionChunk) -> bool:
    if chunk.usage is not None:
        return True
    for choice in chunk.choices:
        if choice.finish_reason or choice.delta.content or choice.delta.tool_calls:
            return True
    return False


class _Tracked:
    """The rest of an opened stream. Reports its outcome to the model's guard and frees the slot
    exactly once: at its end, on an error, or when closed early (even before its first read)."""

    __slots__ = ("_chunks", "_guard", "_held", "_open")

    def __init__(
        self,
        chunks: AsyncIterator[ChatCompletionChunk],
        held: list[ChatCompletionChunk],
        guard: ModelGuard,
    ) -> None:
        self._chunks, self._held, self._guard, self._open = chunks, held, guard, True

    def __aiter__(self) -> _Tracked:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        if self._held:
            return self._held.pop(0)
        if not self._open:
            raise StopAsyncIteration
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            self._end(self._guard.succeeded)
            raise
        except UpstreamError:
            self._end(self._guard.failed)
            raise
        except BaseException:
            self._end(self._guard.abandoned)
            raise

    async def aclose(self) -> None:
        self._end(self._guard.abandoned)
        await aclose(self._chunks)

    def _end(self, outcome: Callable[[], None]) -> None:
        if self._open:
            self._open = False
            outcome()
            self._guard.release()


def _note_failure(facts: RequestFacts, model_id: str, attempt: int, exc: UpstreamError) -> None:
    """A failed try, for the audit record (codes only: messages may name infrastructure)."""
    tries: list[dict[str, Any]] = facts.guard_verdicts.setdefault("upstream", [])
    tries.append({"model": model_id, "attempt": attempt, "error": exc.code})


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
