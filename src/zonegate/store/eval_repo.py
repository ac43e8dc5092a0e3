"""Evaluation runs in the database: the run, each (item, attempt) result, the output cache.

Each result is committed on its own as soon as it is scored, so a run interrupted at any point
(Ctrl-C, a crash, a lost machine) keeps everything it finished and can be resumed; the primary
key (run, item, attempt) makes recording a pair twice impossible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import RowMapping, select

from zonegate.errors import InvalidRequest, NotFound
from zonegate.ids import new_id
from zonegate.store.db import Database
from zonegate.store.eval_tables import eval_cache, eval_results, eval_runs

RunStatus = Literal["running", "complete", "interrupted"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "complete", "interrupted")
MIN_PREFIX = 8  # shortest run-id prefix accepted in place of the whole id


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run of one suite version against one requested model."""

    run_id: str
    schema_version: int
    suite_name: str
    suite_version: str
    suite: Mapping[str, Any]
    requested_model: str
    model_identity: Mapping[str, Any]
    config_hash: str
    config_source: str
    parameters: Mapping[str, Any]
    repeats: int
    use_cache: bool
    packages: Mapping[str, str]
    principal: str
    team: str
    judge_model: str | None = None
    status: RunStatus = "running"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    served_models: tuple[str, ...] = ()
    summary: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """The outcome of one (item, attempt): the output and its scores, or the error."""

    item_id: str
    attempt: int
    passed: bool
    output: str | None
    scores: tuple[Mapping[str, Any], ...]
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: Decimal | None = None
    currency: str | None = None
    served_model: str | None = None
    model_id: str | None = None
    system_fingerprint: str | None = None
    request_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    cached: bool = False
    tries: int = 1
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def is_error(self) -> bool:
        return self.error_code is not None


@dataclass(frozen=True, slots=True)
class CachedOutput:
    """A model output kept for reuse: what a later identical request would have produced."""

    cache_key: str
    output: str
    model_id: str | None
    served_model: str | None
    system_fingerprint: str | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    request_id: str | None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EvalRepository:
    """Create, record, list and read evaluation runs; look up and store cached outputs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- runs ----------------------------------------------------------------------------------

    def create_run(self, run: RunInfo) -> None:
        with self._db.write_transaction() as conn:
            conn.execute(
                eval_runs.insert().values(
                    run_id=run.run_id,
                    schema_version=run.schema_version,
                    suite_name=run.suite_name,
                    suite_version=run.suite_version,
                    suite=dict(run.suite),
                    requested_model=run.requested_model,
                    model_identity=dict(run.model_identity),
                    served_models=list(run.served_models),
                    config_hash=run.config_hash,
                    config_source=run.config_source,
                    parameters=dict(run.parameters),
                    repeats=run.repeats,
                    use_cache=run.use_cache,
                    packages=dict(run.packages),
                    principal=run.principal,
                    team=run.team,
                    judge_model=run.judge_model,
                    status=run.status,
                    created_at=run.created_at,
                    finished_at=run.finished_at,
                    summary=None if run.summary is None else dict(run.summary),
                )
            )

    def get_run(self, run_id: str) -> RunInfo | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(select(eval_runs).where(eval_runs.c.run_id == run_id)).mappings()
            first = row.first()
        return None if first is None else _run(first)

    def resolve(self, ref: str) -> RunInfo:
        """The run whose id is ``ref`` or starts with it (at least 8 characters, unambiguous)."""
        ref = ref.strip()
        exact = self.get_run(ref) if ref else None
        if exact is not None:
            return exact
        unknown = NotFound(
            f"no evaluation run {ref!r}; `zonegate eval runs` lists them", code="run_not_found"
        )
        if len(ref) < MIN_PREFIX:
            raise unknown
        pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._db.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(eval_runs)
                    .where(eval_runs.c.run_id.like(pattern, escape="\\"))
                    .order_by(eval_runs.c.run_id)
                    .limit(2)
                )
                .mappings()
                .all()
            )
        if not rows:
            raise unknown
        if len(rows) > 1:
            raise InvalidRequest(
                f"{ref!r} matches more than one run; give more of the run id",
                code="ambiguous_run",
            )
        return _run(rows[0])

    def list_runs(self, *, suite: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Runs, newest first."""
        query = select(eval_runs).order_by(eval_runs.c.created_at.desc(), eval_runs.c.run_id.desc())
        if suite is not None:
            query = query.where(eval_runs.c.suite_name == suite)
        if limit is not None:
            query = query.limit(limit)
        with self._db.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_run(r) for r in rows]

    def finish(
        self,
        run_id: str,
        status: RunStatus,
        *,
        summary: Mapping[str, Any] | None,
        served_models: Sequence[str],
        finished_at: datetime | None = None,
    ) -> None:
        """Set a run's status, summary and the served models seen so far."""
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r} (known: {', '.join(RUN_STATUSES)})")
        with self._db.write_transaction() as conn:
            updated = conn.execute(
                eval_runs.update()
                .where(eval_runs.c.run_id == run_id)
                .values(
                    status=status,
                    summary=None if summary is None else dict(summary),
                    served_models=list(served_models),
                    finished_at=finished_at,
                )
            )
            if updated.rowcount != 1:
                raise NotFound(f"no evaluation run {run_id!r}", code="run_not_found")

    def reopen(self, run_id: str) -> None:
        """Mark a run as running again (a resume starts)."""
        with self._db.write_transaction() as conn:
            conn.execute(
                eval_runs.update()
                .where(eval_runs.c.run_id == run_id)
                .values(status="running", finished_at=None)
            )

    # -- results -------------------------------------------------------------------------------

    def add_result(self, run_id: str, result: AttemptResult) -> bool:
        """Record one (item, attempt); False when that pair is already recorded."""
        try:
            with self._db.write_transaction() as conn:
                conn.execute(eval_results.insert().values(run_id=run_id, **_result_values(result)))
        except self._db.row_errors:
            if (result.item_id, result.attempt) in self.done_pairs(run_id):
                return False
            raise
        return True

    def results(self, run_id: str) -> list[AttemptResult]:
        """Every recorded result of a run, by item id then attempt."""
        with self._db.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(eval_results)
                    .where(eval_results.c.run_id == run_id)
                    .order_by(eval_results.c.item_id, eval_results.c.attempt)
                )
                .mappings()
                .all()
            )
        return [_result(r) for r in rows]

    def done_pairs(self, run_id: str) -> set[tuple[str, int]]:
        """The (item id, attempt) pairs a run has recorded, errors included."""
        with self._db.engine.connect() as conn:
            rows = conn.execute(
                select(eval_results.c.item_id, eval_results.c.attempt).where(
                    eval_results.c.run_id == run_id
                )
            ).all()
        return {(str(r[0]), int(r[1])) for r in rows}

    # -- cache ---------------------------------------------------------------------------------

    def cache_get(self, cache_key: str, *, fingerprint: str | None = None) -> CachedOutput | None:
        """The newest output stored under ``cache_key``; with ``fingerprint``, only one the
        upstream produced under that fingerprint."""
        query = select(eval_cache).where(eval_cache.c.cache_key == cache_key)
        if fingerprint is not None:
            query = query.where(eval_cache.c.system_fingerprint == fingerprint)
        query = query.order_by(eval_cache.c.created_at.desc(), eval_cache.c.entry_id.desc()).limit(
            1
        )
        with self._db.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _cached(row)

    def cache_put(self, entry: CachedOutput) -> None:
        with self._db.write_transaction() as conn:
            conn.execute(
                eval_cache.insert().values(
                    entry_id=new_id(),
                    cache_key=entry.cache_key,
                    model_id=entry.model_id,
                    served_model=entry.served_model,
                    system_fingerprint=entry.system_fingerprint,
                    output=entry.output,
                    latency_ms=entry.latency_ms,
                    prompt_tokens=entry.prompt_tokens,
                    completion_tokens=entry.completion_tokens,
                    request_id=entry.request_id,
                    created_at=entry.created_at,
                )
            )


def _result_values(r: AttemptResult) -> dict[str, Any]:
    return {
        "item_id": r.item_id,
        "attempt": r.attempt,
        "passed": r.passed,
        "output": r.output,
        "scores": [dict(s) for s in r.scores],
        "latency_ms": r.latency_ms,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "cost": r.cost,
        "currency": r.currency,
        "served_model": r.served_model,
        "model_id": r.model_id,
        "system_fingerprint": r.system_fingerprint,
        "request_id": r.request_id,
        "error_code": r.error_code,
        "error_message": r.error_message,
        "cached": r.cached,
        "tries": r.tries,
        "recorded_at": r.recorded_at,
    }


def _run(row: RowMapping) -> RunInfo:
    return RunInfo(
        run_id=row["run_id"],
        schema_version=int(row["schema_version"]),
        suite_name=row["suite_name"],
        suite_version=row["suite_version"],
        suite=row["suite"],
        requested_model=row["requested_model"],
        model_identity=row["model_identity"],
        config_hash=row["config_hash"],
        config_source=row["config_source"],
        parameters=row["parameters"],
        repeats=int(row["repeats"]),
        use_cache=bool(row["use_cache"]),
        packages=row["packages"],
        principal=row["principal"],
        team=row["team"],
        judge_model=row["judge_model"],
        status=row["status"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        served_models=tuple(row["served_models"]),
        summary=row["summary"],
    )


def _result(row: RowMapping) -> AttemptResult:
    return AttemptResult(
        item_id=row["item_id"],
        attempt=int(row["attempt"]),
        passed=bool(row["passed"]),
        output=row["output"],
        scores=tuple(row["scores"]),
        latency_ms=row["latency_ms"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cost=row["cost"],
        currency=row["currency"],
        served_model=row["served_model"],
        model_id=row["model_id"],
        system_fingerprint=row["system_fingerprint"],
        request_id=row["request_id"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        cached=bool(row["cached"]),
        tries=int(row["tries"]),
        recorded_at=row["recorded_at"],
    )


def _cached(row: RowMapping) -> CachedOutput:
    return CachedOutput(
        cache_key=row["cache_key"],
        output=row["output"],
        model_id=row["model_id"],
        served_model=row["served_model"],
        system_fingerprint=row["system_fingerprint"],
        latency_ms=row["latency_ms"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        request_id=row["request_id"],
        created_at=row["created_at"],
    )
