"""Gates: may a candidate model take a route's first place from the incumbent?

The verdict rests on stored evidence only: the latest complete run of the gate's suite for each
model, both on the same suite version, paired item by item. It passes when every check holds:
enough paired items, Tango non-inferiority of the candidate's failure rate at the margin, and the
candidate's p95 latency and cost per 1,000 requests under their ceilings (when the gate sets
them). Every number behind the verdict travels with it, so a promotion can store exactly what it
was granted on.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from zonegate.audit.chain import decimal_text
from zonegate.config.schema import GateConfig
from zonegate.errors import InvalidRequest
from zonegate.evals.stats import PairedComparison, Reduction, compare_runs
from zonegate.store.eval_repo import AttemptResult, EvalRepository, RunInfo

_THOUSAND = Decimal(1000)
_VERSION_SHOWN = 12  # characters of a suite version (a SHA-256) shown in messages


@dataclass(frozen=True, slots=True)
class GateSettings:
    """What a verdict is judged against: a route's ``gate`` or the options of ``eval compare``."""

    suite: str
    margin: float = 0.02
    alpha: float = 0.05
    min_items: int = 100
    latency_p95_ms: float | None = None
    cost_per_1k_requests: Decimal | None = None
    reduction: Reduction = "majority"

    def __post_init__(self) -> None:
        if not 0 < self.margin < 1:
            raise ValueError(f"margin must be between 0 and 1 (exclusive), got {self.margin:g}")
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be between 0 and 0.5 (exclusive), got {self.alpha:g}")
        if self.min_items < 1:
            raise ValueError(f"min_items must be at least 1, got {self.min_items}")
        if self.latency_p95_ms is not None and not self.latency_p95_ms > 0:
            raise ValueError(f"latency_p95_ms must be above 0, got {self.latency_p95_ms:g}")
        if self.cost_per_1k_requests is not None and self.cost_per_1k_requests < 0:
            raise ValueError(
                f"cost_per_1k_requests must be 0 or more, got {self.cost_per_1k_requests}"
            )

    @classmethod
    def from_config(cls, gate: GateConfig) -> GateSettings:
        return cls(
            suite=gate.suite,
            margin=gate.margin,
            alpha=gate.alpha,
            min_items=gate.min_items,
            latency_p95_ms=gate.latency_p95_ms,
            cost_per_1k_requests=gate.cost_per_1k_requests,
        )

    def to_json(self) -> dict[str, Any]:
        cost = self.cost_per_1k_requests
        return {
            "suite": self.suite,
            "margin": self.margin,
            "alpha": self.alpha,
            "min_items": self.min_items,
            "latency_p95_ms": self.latency_p95_ms,
            "cost_per_1k_requests": None if cost is None else decimal_text(cost),
            "reduction": self.reduction,
        }


@dataclass(frozen=True, slots=True)
class RunEvidence:
    """One model's run as the gate sees it.

    ``latency_p95_ms`` is the nearest-rank p95 over attempts that got an answer (a cached answer
    carries the latency measured when it was produced, so fully cached runs still have one);
    ``cost_per_1k_requests`` is the mean cost of the priced attempts times 1,000, ``None`` when
    the model has no pricing.
    """

    run_id: str
    model: str
    suite_version: str
    created_at: datetime
    items: int
    attempts: int
    errors: int
    latency_p95_ms: float | None
    cost_per_1k_requests: Decimal | None
    currency: str | None

    def to_json(self) -> dict[str, Any]:
        cost = self.cost_per_1k_requests
        return {
            "run_id": self.run_id,
            "model": self.model,
            "suite_version": self.suite_version,
            "created_at": self.created_at.isoformat(),
            "items": self.items,
            "attempts": self.attempts,
            "errors": self.errors,
            "latency_p95_ms": self.latency_p95_ms,
            "cost_per_1k_requests": None if cost is None else decimal_text(cost),
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of the gate: ``min_items``, ``non_inferiority``, ``latency_p95`` or
    ``cost_per_1k``; ``detail`` states it with its numbers."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer and every number it rests on."""

    settings: GateSettings
    suite_version: str
    candidate: RunEvidence
    incumbent: RunEvidence
    comparison: PairedComparison
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def run_ids(self) -> tuple[str, str]:
        """(candidate run, incumbent run)."""
        return self.candidate.run_id, self.incumbent.run_id

    def to_json(self) -> dict[str, Any]:
        table = self.comparison.table
        mcnemar = self.comparison.mcnemar
        ni = self.comparison.noninferiority
        return {
            "passed": self.passed,
            "suite": self.settings.suite,
            "suite_version": self.suite_version,
            "settings": self.settings.to_json(),
            "candidate": self.candidate.to_json(),
            "incumbent": self.incumbent.to_json(),
            "table": {
                "both_pass": table.both_pass,
                "candidate_only_fail": table.candidate_only_fail,
                "incumbent_only_fail": table.incumbent_only_fail,
                "both_fail": table.both_fail,
                "n": table.n,
            },
            "reduction": self.comparison.reduction,
            "candidate_failure_rate": table.candidate_failure_rate,
            "incumbent_failure_rate": table.incumbent_failure_rate,
            "difference": table.difference,
            "upper_bound": _finite(ni.upper_bound),
            "confidence": 1.0 - ni.alpha,
            "mcnemar_p": mcnemar.p_value,
            "mcnemar_mid_p": mcnemar.mid_p_value,
            "noninferiority_statistic": _finite(ni.statistic),
            "noninferiority_p": ni.p_value,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
        }


def _finite(value: float) -> float | None:
    """JSON has no infinity; a degenerate statistic is stored as null."""
    return value if math.isfinite(value) else None


# -- choosing the evidence ----------------------------------------------------------------------


def latest_complete_run(repo: EvalRepository, suite: str, model: str) -> RunInfo | None:
    """The newest complete run of ``suite`` that asked for ``model``."""
    for run in repo.list_runs(suite=suite):
        if run.status == "complete" and run.requested_model == model:
            return run
    return None


def select_evidence(
    repo: EvalRepository, suite: str, candidate: str, incumbent: str
) -> tuple[RunInfo, RunInfo]:
    """The latest complete runs of ``suite`` for both models; refused when one is missing or
    they ran different suite versions (their items, scorers or parameters differ)."""
    if candidate == incumbent:
        raise InvalidRequest(
            f"the candidate and the incumbent are both {candidate!r}: compare two different models",
            code="same_model",
        )
    to_run = f"zonegate eval run {suite} --model {candidate} --model {incumbent}"
    runs = {model: latest_complete_run(repo, suite, model) for model in (candidate, incumbent)}
    missing = [model for model, run in runs.items() if run is None]
    if missing:
        raise InvalidRequest(
            f"no complete run of suite {suite!r} for {' or '.join(repr(m) for m in missing)}: "
            f"the gate needs one for each model on the same suite version; run `{to_run}`",
            code="no_evidence",
        )
    cand, inc = runs[candidate], runs[incumbent]
    assert cand is not None
    assert inc is not None
    if cand.suite_version != inc.suite_version:
        raise InvalidRequest(
            f"the latest complete runs of suite {suite!r} are on different suite versions: "
            f"candidate {candidate!r} run {cand.run_id} on {_short(cand.suite_version)}, "
            f"incumbent {incumbent!r} run {inc.run_id} on {_short(inc.suite_version)}; items "
            f"are only comparable within one version, so run both on the current one: `{to_run}`",
            code="mixed_suite_versions",
        )
    return cand, inc


def _short(version: str) -> str:
    return f"version {version[:_VERSION_SHOWN]}"


def evaluate_gate(
    repo: EvalRepository, settings: GateSettings, candidate: str, incumbent: str
) -> Verdict:
    """Judge ``candidate`` against ``incumbent`` on the stored evidence for ``settings.suite``."""
    cand, inc = select_evidence(repo, settings.suite, candidate, incumbent)
    return judge(settings, cand, repo.results(cand.run_id), inc, repo.results(inc.run_id))


# -- the verdict --------------------------------------------------------------------------------


def judge(
    settings: GateSettings,
    candidate: RunInfo,
    candidate_results: Sequence[AttemptResult],
    incumbent: RunInfo,
    incumbent_results: Sequence[AttemptResult],
) -> Verdict:
    """The verdict on two runs already chosen; pure (no store access)."""
    if candidate.suite_version != incumbent.suite_version:
        raise InvalidRequest(
            f"runs {candidate.run_id} and {incumbent.run_id} are on different versions of suite "
            f"{settings.suite!r} ({_short(candidate.suite_version)} and "
            f"{_short(incumbent.suite_version)}); compare runs of one version",
            code="mixed_suite_versions",
        )
    try:
        comparison = compare_runs(
            _outcomes(candidate_results),
            _outcomes(incumbent_results),
            settings.margin,
            settings.alpha,
            settings.reduction,
        )
    except ValueError as exc:
        raise InvalidRequest(
            f"runs {candidate.run_id} and {incumbent.run_id} cannot be paired: {exc}",
            code="unpaired_runs",
        ) from None
    cand = _evidence(candidate, candidate_results)
    inc = _evidence(incumbent, incumbent_results)
    checks = [_min_items(settings, comparison), _noninferiority(comparison)]
    if settings.latency_p95_ms is not None:
        checks.append(_latency(settings.latency_p95_ms, cand))
    if settings.cost_per_1k_requests is not None:
        checks.append(_cost(settings.cost_per_1k_requests, cand))
    return Verdict(settings, candidate.suite_version, cand, inc, comparison, tuple(checks))


def _outcomes(results: Sequence[AttemptResult]) -> Mapping[str, list[bool]]:
    per_item: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        per_item[r.item_id].append(r.passed)
    return per_item


def _evidence(run: RunInfo, results: Sequence[AttemptResult]) -> RunEvidence:
    answered = [r for r in results if not r.is_error]
    latencies = sorted(r.latency_ms for r in answered if r.latency_ms is not None)
    priced = [r for r in answered if r.cost is not None]
    currencies = sorted({r.currency for r in priced if r.currency})
    cost: Decimal | None = None
    if priced:
        total = sum((r.cost for r in priced if r.cost is not None), Decimal(0))
        cost = total * _THOUSAND / len(priced)
    return RunEvidence(
        run_id=run.run_id,
        model=run.requested_model,
        suite_version=run.suite_version,
        created_at=run.created_at,
        items=len({r.item_id for r in results}),
        attempts=len(results),
        errors=len(results) - len(answered),
        latency_p95_ms=nearest_rank(latencies, 95) if latencies else None,
        cost_per_1k_requests=cost,
        currency=", ".join(currencies) if currencies else None,
    )


def nearest_rank(ordered: Sequence[float], percent: int) -> float:
    """The nearest-rank percentile of sorted values: the ceil(p/100 * n)-th smallest."""
    if not ordered:
        raise ValueError("no values to take a percentile of")
    rank = -(-percent * len(ordered) // 100)
    return ordered[max(1, rank) - 1]


def points(rate: float) -> str:
    """A rate as a percentage with two decimals."""
    return f"{rate * 100:.2f}%"


def _min_items(settings: GateSettings, comparison: PairedComparison) -> Check:
    n, needed = comparison.table.n, settings.min_items
    if n >= needed:
        return Check("min_items", True, f"{n} paired items (the gate requires at least {needed})")
    return Check("min_items", False, f"{n} paired items, fewer than the {needed} the gate requires")


def _noninferiority(comparison: PairedComparison) -> Check:
    table, ni = comparison.table, comparison.noninferiority
    confidence = f"{(1 - ni.alpha) * 100:g}%"
    rates = (
        f"candidate fails {points(table.candidate_failure_rate)} of items, incumbent "
        f"{points(table.incumbent_failure_rate)} (difference {table.difference * 100:+.2f} "
        f"points)"
    )
    bound = f"the one-sided {confidence} upper bound of the difference, {ni.upper_bound * 100:+.2f}"
    margin = f"the margin of {ni.margin * 100:.2f} points"
    if ni.non_inferior:
        detail = f"{rates}; {bound} points, is below {margin} (p = {ni.p_value:.4g} < {ni.alpha:g})"
    else:
        detail = (
            f"{rates}; {bound} points, is not below {margin} "
            f"(p = {ni.p_value:.4g} >= {ni.alpha:g}): non-inferiority is not shown"
        )
    return Check("non_inferiority", ni.non_inferior, detail)


def _latency(ceiling: float, cand: RunEvidence) -> Check:
    p95 = cand.latency_p95_ms
    if p95 is None:
        return Check(
            "latency_p95",
            False,
            f"run {cand.run_id} has no answered attempt, so its p95 latency is unknown "
            f"(ceiling {ceiling:g} ms)",
        )
    ok = p95 <= ceiling
    return Check(
        "latency_p95",
        ok,
        f"candidate p95 latency {p95:.1f} ms {'within' if ok else 'above'} the ceiling "
        f"{ceiling:g} ms",
    )


def _cost(ceiling: Decimal, cand: RunEvidence) -> Check:
    cost = cand.cost_per_1k_requests
    if cost is None:
        return Check(
            "cost_per_1k",
            False,
            f"run {cand.run_id} recorded no cost, so the cost ceiling ({decimal_text(ceiling)} "
            f"per 1,000 requests) cannot be checked; give model {cand.model!r} a pricing block "
            "in the config and run the suite again",
        )
    ok = cost <= ceiling
    currency = f" {cand.currency}" if cand.currency else ""
    return Check(
        "cost_per_1k",
        ok,
        f"candidate cost {money(cost)}{currency} per 1,000 requests "
        f"{'within' if ok else 'above'} the ceiling {decimal_text(ceiling)}",
    )


def money(value: Decimal) -> str:
    """A cost rounded to 6 places for reading (the verdict JSON keeps it exact)."""
    return decimal_text(value.quantize(Decimal("0.000001")))
