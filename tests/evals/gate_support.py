"""Evidence for gate and promotion tests: runs with chosen per-item outcomes, latencies and costs,
written through ``EvalRepository`` exactly as the runner records them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from zonegate.ids import new_id
from zonegate.store.eval_repo import AttemptResult, EvalRepository, RunInfo, RunStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VERSION_1 = "1" * 64
VERSION_2 = "2" * 64


def fails_at(n: int, failing: Iterable[int]) -> list[bool]:
    """``n`` items that pass except those at the given positions."""
    bad = set(failing)
    return [i not in bad for i in range(n)]


def make_run(
    model: str,
    *,
    suite: str = "tickets",
    version: str = VERSION_1,
    minutes: int = 0,
    status: RunStatus = "complete",
    repeats: int = 1,
) -> RunInfo:
    return RunInfo(
        run_id=new_id(),
        schema_version=1,
        suite_name=suite,
        suite_version=version,
        suite={"name": suite, "version": version},
        requested_model=model,
        model_identity={"model": model},
        config_hash="sha256:" + "c" * 64,
        config_source="test.yaml",
        parameters={"temperature": 0},
        repeats=repeats,
        use_cache=True,
        packages={},
        principal="eval",
        team="default",
        status=status,
        created_at=T0 + timedelta(minutes=minutes),
    )


def make_results(
    outcomes: Sequence[bool | Sequence[bool]],
    *,
    latency_ms: float | Sequence[float] = 100.0,
    cost: Decimal | None = Decimal("0.001"),
    currency: str | None = "USD",
    errors: Iterable[int] = (),
) -> list[AttemptResult]:
    """One result per attempt: ``outcomes[i]`` is item i's pass/fail, or a list per attempt.
    Items in ``errors`` end in an upstream error (a failure with no latency or cost)."""
    erroring = set(errors)
    latencies = (
        [latency_ms] * len(outcomes) if isinstance(latency_ms, int | float) else list(latency_ms)
    )
    results = []
    for i, outcome in enumerate(outcomes):
        attempts = [outcome] if isinstance(outcome, bool) else list(outcome)
        for attempt, passed in enumerate(attempts):
            failed = i in erroring
            results.append(
                AttemptResult(
                    item_id=f"item-{i:04d}",
                    attempt=attempt,
                    passed=passed and not failed,
                    output=None if failed else "answer",
                    scores=(),
                    latency_ms=None if failed else latencies[i],
                    prompt_tokens=None if failed else 10,
                    completion_tokens=None if failed else 5,
                    cost=None if failed else cost,
                    currency=None if failed or cost is None else currency,
                    error_code="upstream_error" if failed else None,
                    error_message="boom" if failed else None,
                )
            )
    return results


def store_run(
    repo: EvalRepository,
    model: str,
    outcomes: Sequence[bool | Sequence[bool]],
    **options: Any,
) -> RunInfo:
    """Create, fill and close a run the way the runner does; returns it as stored."""
    run_fields = {
        k: options.pop(k) for k in ("suite", "version", "minutes", "status") if k in options
    }
    run = make_run(model, **run_fields)
    repo.create_run(run)
    for result in make_results(outcomes, **options):
        repo.add_result(run.run_id, result)
    repo.finish(run.run_id, run.status, summary={}, served_models=[f"{model}-served"])
    stored = repo.get_run(run.run_id)
    assert stored is not None
    return stored
