"""Holm's step-down adjustment, for gating one candidate on several suites at once.

Why: a promotion that needs "non-inferior on every suite" runs one test per suite; each at level
alpha lets the chance of at least one wrong "non-inferior" grow with the number of suites. Holm
(1979), "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6:65-70,
keeps that family-wise error at alpha under any dependence and is never less powerful than
Bonferroni.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from zonegate.evals.stats._numeric import check_probability


def holm_adjust(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm-adjusted p-values, in the input order.

    With p(1) <= ... <= p(m) sorted, adjusted p(i) = max over j <= i of min(1, (m - j + 1)·p(j));
    the running maximum keeps the adjusted values in the same order as the raw ones, so comparing
    each adjusted value with alpha reproduces the step-down procedure exactly.
    """
    for index, p in enumerate(p_values):
        if not isinstance(p, int | float) or isinstance(p, bool) or math.isnan(p):
            raise ValueError(f"p-value {index} must be a number, got {p!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-value {index} must be between 0 and 1, got {p:g}")
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return tuple(adjusted)


def holm_reject(p_values: Sequence[float], alpha: float = 0.05) -> tuple[bool, ...]:
    """Which hypotheses Holm's procedure rejects at family-wise level ``alpha``."""
    check_probability("alpha", alpha)
    return tuple(p <= alpha for p in holm_adjust(p_values))
