"""Runs with chosen outcomes, stored through ``EvalRepository`` as the runner stores them, for
report and export tests: every number a report shows follows from the outcomes given here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from zonegate.evals.summary import summarize
from zonegate.ids import new_id
from zonegate.store.db import Database
from zonegate.store.eval_repo import AttemptResult, EvalRepository, RunInfo

T0 = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
VERSION = "sha256:" + "ab" * 32


@dataclass
class RunSpec:
    """One run: ``outcomes`` per item (one bool per attempt); ``outputs`` override the default
    answer of an item; ``errors`` make an item's first attempt an upstream error."""

    model: str
    outcomes: Mapping[str, Sequence[bool]]
    tags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    errors: Sequence[str] = ()
    cost: Decimal | None = None  # per attempt
    currency: str = "USD"
    latency_ms: float = 100.0  # the first attempt's; each later one is 10 ms slower
    version: str = VERSION
    suite_name: str = "geo"
    created_at: datetime = T0


def suite_snapshot(spec: RunSpec) -> dict[str, Any]:
    return {
        "name": spec.suite_name,
        "version": spec.version,
        "description": "test suite",
        "route": None,
        "tags": [],
        "parameters": {"temperature": 0},
        "scorers": [{"name": "exact", "options": {}}],
        "items": [
            {
                "id": item,
                "messages": [{"role": "user", "content": f"question {item}"}],
                "reference": f"answer {item}",
                "rubric": None,
                "tags": list(spec.tags.get(item, ())),
                "metadata": {},
                "content_sha256": "0" * 64,
            }
            for item in spec.outcomes
        ],
    }


def store_run(db: Database, spec: RunSpec) -> str:
    """Store ``spec`` as a complete run (summary from ``summarize``, as the runner does)."""
    repo = EvalRepository(db)
    repeats = max(len(v) for v in spec.outcomes.values())
    run = RunInfo(
        run_id=new_id(),
        schema_version=1,
        suite_name=spec.suite_name,
        suite_version=spec.version,
        suite=suite_snapshot(spec),
        requested_model=spec.model,
        model_identity={"model": spec.model},
        config_hash="sha256:" + "c" * 64,
        config_source="test.yaml",
        parameters={"temperature": 0},
        repeats=repeats,
        use_cache=True,
        packages={"zonegate": "0.1.0"},
        principal="eval",
        team="default",
        created_at=spec.created_at,
    )
    repo.create_run(run)
    results: list[AttemptResult] = []
    n = 0
    for item, attempts in spec.outcomes.items():
        for index, passed in enumerate(attempts):  # attempts count from 0, as in the runner
            n += 1
            results.append(_result(spec, item, index, passed, n))
    for result in results:
        repo.add_result(run.run_id, result)
    summary = summarize(results, planned=len(spec.outcomes) * repeats)
    repo.finish(
        run.run_id,
        "complete",
        summary=summary,
        served_models=[f"{spec.model}-served"],
        finished_at=spec.created_at + timedelta(minutes=1),
    )
    return run.run_id


def _result(spec: RunSpec, item: str, attempt: int, passed: bool, n: int) -> AttemptResult:
    recorded = spec.created_at + timedelta(seconds=n)
    if item in spec.errors and attempt == 0:
        assert not passed, "an errored attempt is a failure"
        return AttemptResult(
            item_id=item,
            attempt=attempt,
            passed=False,
            output=None,
            scores=(),
            error_code="upstream_error",
            error_message="the upstream answered 502",
            tries=3,
            recorded_at=recorded,
        )
    output = spec.outputs.get(item, f"answer {item}" if passed else f"wrong {item}")
    return AttemptResult(
        item_id=item,
        attempt=attempt,
        passed=passed,
        output=output,
        scores=(
            {
                "scorer": "exact",
                "passed": passed,
                "value": float(passed),
                "explanation": "equal" if passed else f"expected answer {item}, got {output!r}",
            },
        ),
        latency_ms=spec.latency_ms + 10 * (n - 1),
        prompt_tokens=20,
        completion_tokens=5,
        cost=spec.cost,
        currency=spec.currency if spec.cost is not None else None,
        served_model=f"{spec.model}-served",
        model_id=spec.model,
        system_fingerprint="fp_1",
        request_id=new_id(),
        recorded_at=recorded,
    )


def paired_outcomes(
    both_pass: int, candidate_only_fail: int, incumbent_only_fail: int, both_fail: int
) -> tuple[dict[str, list[bool]], dict[str, list[bool]]]:
    """Candidate and incumbent outcomes (one attempt per item) giving exactly this 2x2 table."""
    candidate: dict[str, list[bool]] = {}
    incumbent: dict[str, list[bool]] = {}
    cells = (
        (both_pass, True, True),
        (candidate_only_fail, False, True),
        (incumbent_only_fail, True, False),
        (both_fail, False, False),
    )
    for count, cand, inc in cells:
        for _ in range(count):
            item = f"q{len(candidate) + 1:02d}"
            candidate[item] = [cand]
            incumbent[item] = [inc]
    return candidate, incumbent
