"""A run's headline numbers, computed from its recorded results alone.

Counting rules: an attempt passes when it got an answer and every scorer passed it (with no
scorers, any answer passes). An attempt that ended in an error (a policy denial, a timeout, an
upstream failure after retries) is a failure: it is counted in the pass rate's denominator and
listed with its code, because a model that cannot be reached for a task fails that task.

The interval: Wilson's for one attempt per item; with repeats, the attempts of one item are
correlated, so the item is the cluster (cluster-robust standard error), when there are at least
two items.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from zonegate.audit.chain import decimal_text
from zonegate.evals.stats import clustered_pass_rate, wilson_interval
from zonegate.store.eval_repo import AttemptResult

CONFIDENCE = 0.95


def summarize(results: Sequence[AttemptResult], *, planned: int) -> dict[str, Any]:
    """JSON-ready summary of ``results``; ``planned`` is items x repeats (to show progress)."""
    n = len(results)
    passed = sum(1 for r in results if r.passed)
    errors = [r for r in results if r.is_error]
    live = [r for r in results if not r.cached and not r.is_error]
    currencies = sorted({r.currency for r in results if r.currency})
    return {
        "planned": planned,
        "attempts": n,
        "items": len({r.item_id for r in results}),
        "passed": passed,
        "failed": n - passed,
        "errors": len(errors),
        "error_codes": dict(sorted(Counter(str(r.error_code) for r in errors).items())),
        "pass_rate": passed / n if n else None,
        "interval": _interval(results),
        "scorers": _scorers(results),
        "cached": sum(1 for r in results if r.cached),
        "prompt_tokens": sum(r.prompt_tokens or 0 for r in results),
        "completion_tokens": sum(r.completion_tokens or 0 for r in results),
        # cost: what the answers cost when they were made; spend: what this run paid.
        "cost": _money(sum((r.cost for r in results if r.cost is not None), Decimal(0))),
        "spend": _money(
            sum((r.cost for r in results if r.cost is not None and not r.cached), Decimal(0))
        ),
        "currency": currencies[0] if len(currencies) == 1 else (currencies or None),
        "latency_ms": _latency([r.latency_ms for r in live if r.latency_ms is not None]),
        "served_models": served_models(results),
        "model_ids": sorted({r.model_id for r in results if r.model_id}),
        "fingerprints": sorted({r.system_fingerprint for r in results if r.system_fingerprint}),
    }


def served_models(results: Sequence[AttemptResult]) -> list[str]:
    return sorted({r.served_model for r in results if r.served_model})


def _interval(results: Sequence[AttemptResult]) -> dict[str, Any] | None:
    if not results:
        return None
    per_item: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        per_item[r.item_id].append(r.passed)
    if any(len(a) > 1 for a in per_item.values()) and len(per_item) >= 2:
        clustered = clustered_pass_rate(per_item.values(), CONFIDENCE)
        return {
            "method": "cluster_robust",
            "confidence": CONFIDENCE,
            "low": clustered.low,
            "high": clustered.high,
            "design_effect": clustered.design_effect,
        }
    passes = sum(1 for r in results if r.passed)
    low, high = wilson_interval(passes, len(results), CONFIDENCE)
    return {"method": "wilson", "confidence": CONFIDENCE, "low": low, "high": high}


def _scorers(results: Sequence[AttemptResult]) -> dict[str, dict[str, Any]]:
    """Per scorer: how many scored attempts it passed (errored attempts have no scores)."""
    seen: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        for score in r.scores:
            seen[str(score["scorer"])].append(bool(score["passed"]))
    return {
        name: {"scored": len(v), "passed": sum(v), "pass_rate": sum(v) / len(v)}
        for name, v in sorted(seen.items())
    }


def _latency(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "mean": round(sum(ordered) / len(ordered), 3),
        "p50": _rank(ordered, 0.50),
        "p95": _rank(ordered, 0.95),
        "max": ordered[-1],
    }


def _rank(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    index = max(0, min(len(ordered) - 1, -(-int(q * 100) * len(ordered) // 100) - 1))
    return ordered[index]


def _money(value: Decimal) -> str:
    return decimal_text(value)
