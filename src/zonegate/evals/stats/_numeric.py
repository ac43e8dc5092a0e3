"""Shared numeric pieces: normal quantiles, argument checks and a careful bisection.

Kept apart so every statistic uses the same quantile source (``statistics.NormalDist``, exact to
double precision) and the same root finder, and so input errors read the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

STANDARD_NORMAL = NormalDist()


def upper_quantile(tail: float) -> float:
    """z with P(Z > z) = ``tail`` for a standard normal Z (e.g. 0.025 -> 1.959964)."""
    return STANDARD_NORMAL.inv_cdf(1.0 - tail)


def check_count(name: str, value: int) -> None:
    """Counts are non-negative integers; a float or a bool here is a caller bug, not data."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, got {value}")


def check_probability(name: str, value: float, *, low: float = 0.0, high: float = 1.0) -> None:
    """A level strictly inside (low, high): 0 and 1 make every interval or test degenerate."""
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not low < value < high:
        raise ValueError(f"{name} must be between {low:g} and {high:g} (exclusive), got {value:g}")


def bisect_decreasing(f: Callable[[float], float], lo: float, hi: float) -> float:
    """The root of ``f`` in ``[lo, hi]``, given f(lo) > 0 > f(hi) by construction.

    Only interior points are evaluated, so ``f`` may be undefined or infinite at the ends (the
    score statistic is, at a difference of exactly -1 or 1). Bisection rather than Brent: it
    cannot step outside the bracket and converges to the last representable float in ~60
    halvings, which is cheap next to the evaluation it replaces.
    """
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:  # the bracket is as small as doubles allow
            break
        if f(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
