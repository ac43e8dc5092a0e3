"""Non-inferiority of a candidate's failure rate: Tango's score test and score interval.

The question "can this model replace that one without more failures?" is a one-sided test on
d = P(candidate fails) - P(incumbent fails) with a margin δ > 0:  H0: d >= δ  vs  H1: d < δ.

Tango (1998), "Equivalence test and confidence interval for the difference in proportions for the
paired-sample design", Statistics in Medicine 17:891-908, gives the score statistic

    T(δ) = (b - c - nδ) / sqrt(n · (2·q̂21 + δ(1 - δ)))

where b = candidate-only failures (x12), c = incumbent-only failures (x21), and q̂21 is the
maximum-likelihood estimate of P(incumbent-only failure) restricted to q12 - q21 = δ: the larger
root of 2n·q² + B·q + C = 0 with B = -b - c + (2n - b + c)·δ and C = -c·δ(1 - δ). Unlike
Wald-type intervals it is defined when b or c is zero, and at δ = 0 it is McNemar's
z = (b - c)/sqrt(b + c). The confidence limits are the δ where T(δ) = ±z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zonegate.evals.stats._numeric import (
    STANDARD_NORMAL,
    bisect_decreasing,
    check_probability,
    upper_quantile,
)
from zonegate.evals.stats.paired import PairedTable


def restricted_q21(b: float, c: float, n: float, delta: float) -> float:
    """Tango's restricted MLE of q21 (incumbent-only failure) under q12 - q21 = ``delta``.

    Why the larger root: the log-likelihood b·log(q + δ) + c·log(q) + (n-b-c)·log(1 - 2q - δ)
    is concave on the feasible set max(0, -δ) <= q <= (1 - δ)/2. The quadratic f(q) is minus
    its score times q(q+δ)(1-2q-δ); f is <= 0 at the lower end (b·δ(1+δ) at q = -δ, C at 0) and
    (1-δ²)(n-b-c)/2 >= 0 at the upper end, so its larger root is the maximiser. Computed as
    2C/(-B - sqrt(D)) when B > 0 to avoid the cancellation in -B + sqrt(D). Counts may be
    expected (non-integer) counts, for planning.
    """
    a = 2.0 * n
    bq = -b - c + (2.0 * n - b + c) * delta
    cq = -c * delta * (1.0 - delta)
    root_d = math.sqrt(max(0.0, bq * bq - 4.0 * a * cq))
    if bq > 0.0:
        denominator = -bq - root_d
        return 0.0 if denominator == 0.0 else 2.0 * cq / denominator
    return (-bq + root_d) / (2.0 * a)


def _score(b: int, c: int, n: int, delta: float) -> float:
    variance = n * (2.0 * restricted_q21(b, c, n, delta) + delta * (1.0 - delta))
    numerator = b - c - n * delta
    if variance <= 0.0:  # only at δ ∈ {0, 1} with no discordance: no evidence either way
        return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def tango_statistic(table: PairedTable, delta: float) -> float:
    """T(δ): standard normal under H0 d = δ; very negative when the candidate fails less."""
    if not -1.0 < delta < 1.0:
        raise ValueError(f"delta must be between -1 and 1 (exclusive), got {delta:g}")
    return _score(table.candidate_only_fail, table.incumbent_only_fail, table.n, delta)


def _upper_limit(b: int, c: int, n: int, z: float) -> float:
    """The δ >= (b - c)/n where T(δ) = -z. T is 0 at the estimate and falls to -inf as δ -> 1
    (Tango 1998 shows it is decreasing in δ), so the root is bracketed there."""
    estimate = (b - c) / n
    if b == n:  # every item a candidate-only failure: d = 1 cannot be excluded
        return 1.0
    return bisect_decreasing(lambda d: _score(b, c, n, d) + z, estimate, 1.0)


def tango_upper_bound(table: PairedTable, confidence: float = 0.95) -> float:
    """One-sided upper confidence bound of d at ``confidence`` (e.g. 0.95 for alpha 0.05)."""
    check_probability("confidence", confidence)
    z = upper_quantile(1.0 - confidence)
    return _upper_limit(table.candidate_only_fail, table.incumbent_only_fail, table.n, z)


def tango_interval(table: PairedTable, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Tango score interval for d. The lower limit uses the symmetry
    T(b, c; δ) = -T(c, b; -δ): it is minus the upper limit of the mirrored table."""
    check_probability("confidence", confidence)
    z = upper_quantile((1.0 - confidence) / 2.0)
    b, c, n = table.candidate_only_fail, table.incumbent_only_fail, table.n
    return -_upper_limit(c, b, n, z), _upper_limit(b, c, n, z)


@dataclass(frozen=True, slots=True)
class NonInferiority:
    """Outcome of the one-sided test H0: d >= margin vs H1: d < margin.

    ``upper_bound`` is the one-sided (1 - alpha) Tango bound of d; ``non_inferior`` is
    ``upper_bound < margin``, the same decision as ``p_value < alpha``.
    """

    margin: float
    alpha: float
    difference: float
    statistic: float
    p_value: float
    upper_bound: float
    non_inferior: bool


def noninferiority_test(table: PairedTable, margin: float, alpha: float = 0.05) -> NonInferiority:
    """Tango's score test of non-inferiority on the paired difference of failure rates.

    p = Φ(T(margin)): the probability under d = margin of a statistic at least this favourable to
    the candidate. ``margin`` is the largest acceptable rise in failure rate (0.02 = two points).
    """
    check_probability("margin", margin)
    check_probability("alpha", alpha, high=0.5)
    statistic = tango_statistic(table, margin)
    upper = tango_upper_bound(table, 1.0 - alpha)
    return NonInferiority(
        margin=margin,
        alpha=alpha,
        difference=table.difference,
        statistic=statistic,
        p_value=STANDARD_NORMAL.cdf(statistic),
        upper_bound=upper,
        non_inferior=upper < margin,
    )
