"""How many items a paired non-inferiority comparison needs before it is run.

The planner inverts the power of Tango's score test (``zonegate.evals.stats.tango``). With n
independent items, true difference Δ1, discordance ψ = q12 + q21 and margin δ, the numerator
b - c - nδ is approximately normal with mean n(Δ1 - δ) and variance n·σ1², σ1² = ψ - Δ1², while the
test divides by sqrt(n·σ0²), σ0² = 2·q̃21 + δ(1 - δ), where q̃21 is the restricted MLE evaluated at
the expected counts (n·q12, n·q21). Asking P(T < -z_{1-α}) = power gives

    n = (z_{1-α}·σ0 + z_{power}·σ1)² / (δ - Δ1)²

(Nam 1997, "Establishing equivalence of two treatments and sample size requirements in
matched-pairs design", Biometrics 53:1422-1430, for the same restricted-MLE score test; Tango 1998).
With δ = 0 it reduces to Connor's (1987) McNemar formula, Biometrics 43:207-211.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zonegate.evals.stats._numeric import check_probability, upper_quantile
from zonegate.evals.stats.tango import restricted_q21

FORMULA = "n = (z[1-alpha]*sigma0 + z[power]*sigma1)^2 / (margin - expected_difference)^2"


@dataclass(frozen=True, slots=True)
class SampleSizePlan:
    """Items needed (``items``, rounded up) and everything that went into the number."""

    items: int
    exact_items: float
    margin: float
    discordance: float
    alpha: float
    power: float
    expected_difference: float
    null_sd: float
    alternative_sd: float
    formula: str


def noninferiority_sample_size(
    margin: float,
    discordance: float,
    alpha: float = 0.05,
    power: float = 0.8,
    expected_difference: float = 0.0,
) -> SampleSizePlan:
    """Items needed for the one-sided Tango test at level ``alpha`` to reach ``power``.

    Assumes independent items, one outcome per model per item (after reducing repeats), a true
    difference ``expected_difference`` (default 0: the candidate fails exactly as often as the
    incumbent) and that a share ``discordance`` of items get different verdicts from the two
    models. ``margin`` 0 gives the superiority (McNemar) plan and then needs a negative
    ``expected_difference``.
    """
    if not isinstance(margin, int | float) or isinstance(margin, bool) or not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be at least 0 and below 1, got {margin!r}")
    if (
        not isinstance(discordance, int | float)
        or isinstance(discordance, bool)
        or not 0.0 < discordance <= 1.0
    ):
        raise ValueError(
            f"discordance must be above 0 and at most 1, got {discordance!r}: it is the share "
            "of items where exactly one of the two models fails"
        )
    check_probability("alpha", alpha, high=0.5)
    if not isinstance(power, int | float) or isinstance(power, bool) or not 0.5 <= power < 1.0:
        raise ValueError(f"power must be at least 0.5 and below 1, got {power!r}")
    if margin >= discordance:
        raise ValueError(
            f"margin {margin:g} is not below the discordance {discordance:g}: when only "
            f"{discordance:g} of items differ, the failure rates cannot differ by {margin:g}, "
            "so there is nothing to test; lower the margin or raise the expected discordance"
        )
    if (
        not isinstance(expected_difference, int | float)
        or isinstance(expected_difference, bool)
        or math.isnan(expected_difference)
    ):
        raise ValueError(f"expected_difference must be a number, got {expected_difference!r}")
    if abs(expected_difference) > discordance:
        raise ValueError(
            f"expected_difference {expected_difference:g} cannot exceed the discordance "
            f"{discordance:g} in size: only discordant items move the difference"
        )
    if expected_difference >= margin:
        raise ValueError(
            f"expected_difference {expected_difference:g} must be below the margin {margin:g}: "
            "a candidate expected to be worse than the margin cannot be shown non-inferior"
        )
    q12 = (discordance + expected_difference) / 2.0
    q21 = (discordance - expected_difference) / 2.0
    q21_null = restricted_q21(q12, q21, 1.0, margin)
    null_sd = math.sqrt(2.0 * q21_null + margin * (1.0 - margin))
    alternative_sd = math.sqrt(discordance - expected_difference**2)
    root_n = (upper_quantile(alpha) * null_sd + upper_quantile(1.0 - power) * alternative_sd) / (
        margin - expected_difference
    )
    exact = root_n * root_n
    return SampleSizePlan(
        items=math.ceil(exact - 1e-9),  # 1e-9 keeps an exact integer from rounding up by noise
        exact_items=exact,
        margin=margin,
        discordance=discordance,
        alpha=alpha,
        power=power,
        expected_difference=expected_difference,
        null_sd=null_sd,
        alternative_sd=alternative_sd,
        formula=FORMULA,
    )
