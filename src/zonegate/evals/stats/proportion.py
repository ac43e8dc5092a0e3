"""One run's pass rate: the Wilson interval for one attempt per item, clustered errors for repeats.

Why Wilson: the Wald interval p ± z·sqrt(p(1-p)/n) collapses to zero width at 0 or n passes and
undercovers near the ends, exactly where a good model's pass rate sits. Wilson (1927) inverts the
score test instead; Newcombe (1998, Statistics in Medicine 17:857-872, method 3) recommends it.

Why clustered errors: with k attempts per item the attempts of one item are correlated (an item
that is hard stays hard), so treating all n·k attempts as independent understates the error.
Treating each item as a cluster gives the sandwich (cluster-robust) standard error; see Cameron &
Miller (2015), "A Practitioner's Guide to Cluster-Robust Inference", J. Human Resources 50:317-372,
and Miller (2024), "Adding Error Bars to Evals", arXiv:2411.00640, section 2.2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zonegate.evals.stats._numeric import check_count, check_probability, upper_quantile


def wilson_interval(passes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Wilson score interval for a binomial proportion ``passes / n``.

    The limits are the two roots p of (x/n - p)² = z² p(1-p)/n (Wilson 1927, JASA 22:209-212):
    centre (x + z²/2)/(n + z²), half-width z·sqrt(x(n-x)/n + z²/4)/(n + z²); no continuity
    correction (Newcombe 1998, method 3).
    """
    check_count("passes", passes)
    check_count("n", n)
    if n == 0:
        raise ValueError("n must be at least 1: a pass rate needs at least one attempt")
    if passes > n:
        raise ValueError(f"passes ({passes}) cannot exceed n ({n})")
    check_probability("confidence", confidence)
    z = upper_quantile((1.0 - confidence) / 2.0)
    z2 = z * z
    centre = (passes + z2 / 2.0) / (n + z2)
    half = z * math.sqrt(passes * (n - passes) / n + z2 / 4.0) / (n + z2)
    low = 0.0 if passes == 0 else max(0.0, centre - half)
    high = 1.0 if passes == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True, slots=True)
class PassRate:
    """A pass rate with its Wilson interval: one outcome per item."""

    passes: int
    n: int
    rate: float
    low: float
    high: float
    confidence: float


def pass_rate(passes: int, n: int, confidence: float = 0.95) -> PassRate:
    """``passes / n`` with its two-sided Wilson interval at ``confidence``."""
    low, high = wilson_interval(passes, n, confidence)
    return PassRate(passes, n, passes / n, low, high, confidence)


@dataclass(frozen=True, slots=True)
class ClusteredPassRate:
    """A pass rate over repeated attempts with a cluster-robust (CR1) standard error.

    ``naive_standard_error`` treats every attempt as independent, sqrt(p(1-p)/N); the ratio of
    the two variances is the design effect: how many attempts one independent item is worth.
    ``design_effect`` is None when every attempt agrees (both errors are zero).
    """

    items: int
    attempts: int
    passes: int
    rate: float
    standard_error: float
    naive_standard_error: float
    design_effect: float | None
    low: float
    high: float
    confidence: float


def clustered_pass_rate(
    outcomes: Iterable[Sequence[bool]], confidence: float = 0.95
) -> ClusteredPassRate:
    """Pass rate over all attempts, with the item as the cluster.

    ``outcomes`` holds one sequence of attempt outcomes per item (items may have different
    attempt counts). The estimate is the pooled rate p = Σy_g / N. Its variance is the
    intercept-only sandwich estimator with Stata's CR1 small-sample factor (Cameron & Miller
    2015): V = G/(G-1) · Σ_g (y_g - p·m_g)² / N², where y_g and m_g are item g's passes
    and attempts, G the number of items and N the attempts. (The usual (N-1)/(N-K) factor is 1
    with one regressor.) With one attempt per item this is p(1-p)/(G-1).

    The interval is p ± z·SE clipped to [0, 1], with a normal z as in Miller (2024); a t with
    G-1 degrees of freedom would be slightly wider for few items. Prefer ``pass_rate`` (Wilson)
    when there is one attempt per item: the Wald form collapses at 0% or 100%.
    """
    check_probability("confidence", confidence)
    per_item: list[tuple[int, int]] = []
    for index, attempts in enumerate(outcomes):
        if len(attempts) == 0:
            raise ValueError(f"item {index} has no attempts: every item needs at least one")
        per_item.append((sum(1 for passed in attempts if passed), len(attempts)))
    items = len(per_item)
    if items < 2:
        raise ValueError(f"a clustered standard error needs at least 2 items, got {items}")
    passes = sum(y for y, _ in per_item)
    total = sum(m for _, m in per_item)
    rate = passes / total
    meat = math.fsum((y - rate * m) ** 2 for y, m in per_item)
    se = math.sqrt(items / (items - 1) * meat) / total
    naive = math.sqrt(rate * (1.0 - rate) / total)
    z = upper_quantile((1.0 - confidence) / 2.0)
    return ClusteredPassRate(
        items=items,
        attempts=total,
        passes=passes,
        rate=rate,
        standard_error=se,
        naive_standard_error=naive,
        design_effect=(se / naive) ** 2 if naive > 0.0 else None,
        low=max(0.0, rate - z * se),
        high=min(1.0, rate + z * se),
        confidence=confidence,
    )
