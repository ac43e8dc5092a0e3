"""Evaluation statistics pinned to published values and to independent computations.

Sources of the pinned numbers:
- Newcombe (1998a), Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score, no
  continuity correction): 81/263, 15/148, 0/20, 1/29.
- Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" (2017), as printed by
  their R package contingencytables (tests/testthat/test-ch2.R and test-ch8.R): Wilson 13/16
  (Ligarden et al. 2010) = 0.5699 to 0.9341; Cavo et al. (2012) paired table 59, 6, 16, 80:
  McNemar exact conditional P = 0.052479, mid-P = 0.034690, asymptotic P = 0.033006 (Z = -2.132),
  Tango asymptotic score 95% CI -0.1240 to -0.0054.
- Connor (1987), Biometrics 43:207-211, sample size for McNemar's test, as worked on
  powerandsamplesize.com (Compare Paired Proportions, McNemar Z-test 1-sided): p01 = 0.45,
  p10 = 0.05, alpha 0.05, power 0.90 -> 23 pairs.
- Holm-Bonferroni example on Wikipedia: p = 0.01, 0.04, 0.03, 0.005 at alpha 0.05 rejects
  hypotheses 1 and 4 only.
Everything else is checked against a second computation that shares no code with the module:
numpy root solving, exact rational binomial sums, brute-force likelihood maximisation, the
closed-form quartic of Yang, Sun & Hardin (2013), closed testing by subset enumeration and exact
enumeration of the trinomial distribution of the paired table.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from zonegate.cli.eval_plan import plan
from zonegate.evals.stats import (
    PairedTable,
    clustered_pass_rate,
    compare_runs,
    holm_adjust,
    holm_reject,
    mcnemar_exact,
    noninferiority_sample_size,
    noninferiority_test,
    paired_table,
    pass_rate,
    restricted_q21,
    tango_interval,
    tango_statistic,
    tango_upper_bound,
    wilson_interval,
)

Z = NormalDist()
CAVO = PairedTable(both_pass=59, candidate_only_fail=6, incumbent_only_fail=16, both_fail=80)
BENTUR = PairedTable(both_pass=1, candidate_only_fail=1, incumbent_only_fail=7, both_fail=12)


# --- Wilson ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passes", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),  # Newcombe 1998a, Table II
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (13, 16, 0.5699, 0.9341),  # Fagerland et al. 2017 (Ligarden 2010), contingencytables
    ],
)
def test_wilson_matches_published_intervals(passes: int, n: int, low: float, high: float) -> None:
    """Published to 4 decimals, so agreement within 1e-4 covers the rounding."""
    got_low, got_high = wilson_interval(passes, n)
    assert got_low == pytest.approx(low, abs=1e-4)
    assert got_high == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize(("passes", "n"), [(0, 1), (1, 1), (3, 7), (50, 100), (999, 1000)])
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_limits_are_the_roots_of_the_score_quadratic(
    passes: int, n: int, confidence: float
) -> None:
    """Independent: numpy's polynomial roots of (n + z²)p² - (2x + z²)p + x²/n = 0, which is
    (x/n - p)² = z²p(1-p)/n rearranged (Wilson 1927)."""
    z = Z.inv_cdf(0.5 + confidence / 2)
    roots = sorted(np.roots([n + z * z, -(2 * passes + z * z), passes * passes / n]).real)
    assert wilson_interval(passes, n, confidence) == pytest.approx(
        (max(0.0, roots[0]), min(1.0, roots[1])), abs=1e-12
    )


def test_pass_rate_carries_the_interval_and_refuses_nonsense() -> None:
    result = pass_rate(81, 263)
    assert result.rate == pytest.approx(81 / 263)
    assert (result.low, result.high) == wilson_interval(81, 263)
    with pytest.raises(ValueError, match="cannot exceed"):
        pass_rate(5, 4)
    with pytest.raises(ValueError, match="at least one attempt"):
        pass_rate(0, 0)
    with pytest.raises(ValueError, match="confidence"):
        pass_rate(1, 2, confidence=1.0)
    with pytest.raises(ValueError, match="whole number"):
        wilson_interval(1.5, 3)  # type: ignore[arg-type]


# --- clustered standard error ---------------------------------------------------------------


def test_clustered_error_matches_a_hand_calculation() -> None:
    """Hand: passes 7 of 12, p = 7/12; item residuals y - p·m = 1.25, -1.75, 0.25, 0.25, squares
    sum 4.75; V = 4/3 · 4.75 / 144 = 0.0439815, SE = 0.2097176."""
    items = [[True, True, True], [False, False, False], [True, False, True], [True, True, False]]
    result = clustered_pass_rate(items)
    assert result.rate == pytest.approx(7 / 12)
    assert result.standard_error == pytest.approx(0.2097176, abs=1e-6)
    assert result.naive_standard_error == pytest.approx(math.sqrt(7 / 12 * 5 / 12 / 12))
    assert result.low == pytest.approx(7 / 12 - 1.959964 * 0.2097176, abs=1e-5)


def test_clustered_error_equals_the_matrix_sandwich() -> None:
    """Independent: the textbook CR1 sandwich with matrices, (X'X)⁻¹ Σ_g X_g'u_g u_g'X_g (X'X)⁻¹
    times G/(G-1)·(N-1)/(N-K), for an intercept-only regression of attempt outcomes."""
    rng = random.Random(7)
    items = [[rng.random() < rng.random() for _ in range(rng.randint(1, 6))] for _ in range(40)]
    y = np.array([float(v) for attempts in items for v in attempts])
    groups = np.repeat(np.arange(len(items)), [len(a) for a in items])
    x = np.ones((len(y), 1))
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    u = y - x @ beta
    meat = np.zeros((1, 1))
    for g in range(len(items)):
        score = x[groups == g].T @ u[groups == g]
        meat += np.outer(score, score)
    n_obs, n_groups, k = len(y), len(items), 1
    factor = n_groups / (n_groups - 1) * (n_obs - 1) / (n_obs - k)
    expected = math.sqrt(float(factor * (bread @ meat @ bread)[0, 0]))
    result = clustered_pass_rate(items)
    assert result.rate == pytest.approx(float(beta[0]), abs=1e-12)
    assert result.standard_error == pytest.approx(expected, rel=1e-10)


def test_clustered_error_with_one_attempt_is_the_binomial_error_with_g_minus_one() -> None:
    items = [[True]] * 30 + [[False]] * 10
    result = clustered_pass_rate(items)
    assert result.standard_error == pytest.approx(math.sqrt(0.75 * 0.25 / 39), rel=1e-12)


def test_perfectly_repeatable_attempts_are_worth_one_item() -> None:
    """When every attempt of an item agrees, k attempts carry the information of one: the design
    effect is k·G/(G-1) (here 5·20/19)."""
    items = [[True] * 5] * 12 + [[False] * 5] * 8
    result = clustered_pass_rate(items)
    assert result.design_effect == pytest.approx(5 * 20 / 19, rel=1e-12)
    assert result.standard_error == pytest.approx(math.sqrt(0.6 * 0.4 / 19), rel=1e-12)


def test_clustered_error_refuses_too_few_items_and_empty_items() -> None:
    with pytest.raises(ValueError, match="at least 2 items"):
        clustered_pass_rate([[True, False]])
    with pytest.raises(ValueError, match="item 1 has no attempts"):
        clustered_pass_rate([[True], []])
    assert clustered_pass_rate([[True], [True]]).design_effect is None


# --- paired table and McNemar ---------------------------------------------------------------


def test_paired_table_reduces_repeats_and_counts_each_cell() -> None:
    candidate = {
        "a": [True, True, False],
        "b": [False, False, True],
        "c": [True, False],
        "d": [True],
    }
    incumbent = {"a": [True, True, True], "b": [True, True, True], "c": [True, True], "d": [False]}
    majority = paired_table(candidate, incumbent, "majority")
    # a: pass/pass; b: fail/pass; c: tie counts as fail -> fail/pass; d: pass/fail
    assert (majority.both_pass, majority.candidate_only_fail) == (1, 2)
    assert (majority.incumbent_only_fail, majority.both_fail) == (1, 0)
    strict = paired_table(candidate, incumbent, "all")
    # a: fail/pass; b: fail/pass; c: fail/pass; d: pass/fail
    assert (strict.both_pass, strict.candidate_only_fail, strict.incumbent_only_fail) == (0, 3, 1)
    assert strict.difference == pytest.approx((3 - 1) / 4)
    assert strict.candidate_failure_rate - strict.incumbent_failure_rate == pytest.approx(0.5)
    assert strict.discordance_rate == 1.0


def test_paired_table_refuses_runs_over_different_items() -> None:
    with pytest.raises(ValueError, match=r"only the candidate has 'x'.*only the incumbent has 'y'"):
        paired_table({"a": [True], "x": [True]}, {"a": [True], "y": [False]})
    with pytest.raises(ValueError, match="item 'a'"):
        paired_table({"a": []}, {"a": [True]})
    with pytest.raises(ValueError, match="empty"):
        PairedTable(0, 0, 0, 0)
    with pytest.raises(ValueError, match="0 or more"):
        PairedTable(1, -1, 0, 0)


def test_mcnemar_matches_the_published_cavo_example() -> None:
    """Fagerland et al. (2017), contingencytables: exact conditional P = 0.052479,
    mid-P = 0.034690 for b = 6, c = 16."""
    result = mcnemar_exact(CAVO)
    assert result.p_value == pytest.approx(0.052479, abs=1e-6)
    assert result.mid_p_value == pytest.approx(0.034690, abs=1e-6)


def test_mcnemar_on_the_bentur_example_by_hand() -> None:
    """b = 1, c = 7: P(X <= 1 | 8, 1/2) = 9/256, so p = 18/256 and mid-p = 2(9 - 8/2)/256."""
    result = mcnemar_exact(BENTUR)
    assert result.p_value == pytest.approx(18 / 256, abs=1e-12)
    assert result.mid_p_value == pytest.approx(10 / 256, abs=1e-12)


@pytest.mark.parametrize(("b", "c"), [(0, 1), (0, 12), (3, 3), (4, 9), (40, 61), (900, 1000)])
def test_mcnemar_equals_exact_rational_binomial_sums(b: int, c: int) -> None:
    """Independent: exact integer sums of binomial coefficients over 2^m."""
    m, k = b + c, min(b, c)
    tail = Fraction(sum(math.comb(m, i) for i in range(k + 1)), 2**m)
    point = Fraction(math.comb(m, k), 2**m)
    result = mcnemar_exact(PairedTable(10, b, c, 10))
    assert result.p_value == pytest.approx(float(min(Fraction(1), 2 * tail)), rel=1e-9, abs=1e-15)
    assert result.mid_p_value == pytest.approx(
        float(min(Fraction(1), 2 * tail - point)), rel=1e-9, abs=1e-15
    )


def test_mcnemar_without_discordance_is_one() -> None:
    assert mcnemar_exact(PairedTable(5, 0, 0, 5)).p_value == 1.0


# --- Tango ----------------------------------------------------------------------------------


def brute_force_q21(b: int, c: int, n: int, delta: float) -> float:
    """Independent: maximise b·log(q+δ) + c·log(q) + (n-b-c)·log(1-2q-δ) over the feasible q
    by a grid of 20001 points, then two rounds of finer grids around the best point."""
    low, high = max(0.0, -delta), (1.0 - delta) / 2.0

    def loglik(q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = [
                np.where(b > 0, b * np.log(q + delta), 0.0),
                np.where(c > 0, c * np.log(q), 0.0),
                np.where(n - b - c > 0, (n - b - c) * np.log(1.0 - 2.0 * q - delta), 0.0),
            ]
        total = terms[0] + terms[1] + terms[2]
        return np.where(np.isnan(total), -np.inf, total)

    grid = np.linspace(low, high, 20001)
    for _ in range(3):
        best = grid[int(np.argmax(loglik(grid)))]
        step = grid[1] - grid[0]
        grid = np.linspace(max(low, best - step), min(high, best + step), 20001)
    return float(grid[int(np.argmax(loglik(grid)))])


@pytest.mark.parametrize(
    ("b", "c", "n", "delta"),
    [
        (6, 16, 161, 0.02),
        (6, 16, 161, -0.1),
        (1, 7, 21, -0.3),
        (12, 2, 50, 0.2),
        (0, 5, 40, 0.05),
        (5, 0, 40, -0.05),
        (0, 0, 30, 0.1),
        (3, 3, 10, 0.0),
    ],
)
def test_restricted_mle_is_the_constrained_maximum(b: int, c: int, n: int, delta: float) -> None:
    assert restricted_q21(b, c, n, delta) == pytest.approx(
        brute_force_q21(b, c, n, delta), abs=1e-6
    )


def test_tango_at_zero_is_mcnemar_z_and_matches_the_published_cavo_p() -> None:
    """Tango (1998): T(0) is McNemar's z = (b - c)/sqrt(b + c). contingencytables prints the
    two-sided asymptotic McNemar P = 0.033006, Z = -2.132 for Cavo."""
    statistic = tango_statistic(CAVO, 0.0)
    assert statistic == pytest.approx(-10 / math.sqrt(22), rel=1e-12)
    assert statistic == pytest.approx(-2.132, abs=5e-4)
    assert 2 * Z.cdf(statistic) == pytest.approx(0.033006, abs=1e-6)


def test_tango_interval_matches_the_published_cavo_interval() -> None:
    """contingencytables, Tango asymptotic score CI for Cavo: -0.1240 to -0.0054."""
    low, high = tango_interval(CAVO, 0.95)
    assert low == pytest.approx(-0.1240, abs=1e-4)
    assert high == pytest.approx(-0.0054, abs=1e-4)
    assert tango_upper_bound(CAVO, 0.975) == pytest.approx(high, abs=1e-12)


def yang_quartic_roots(b: int, c: int, n: int, z: float) -> np.ndarray:
    """Independent: the real roots of the quartic whose roots include Tango's limits (Yang, Sun &
    Hardin 2013, Statistics in Medicine 32:1336-1342, Appendix B coefficients), with g = z²."""
    g = z * z
    m0 = n**2 * (n / g + 1) ** 2
    m1 = -n * (b - c) * (n / g + 1) * (4 * n / g + 1)
    m2 = 2 * n * (b - c) ** 2 * (3 * n / g + 2) / g - n**2 * ((b + c) / g + 1)
    m3 = n * (b - c) * (2 * (b + c) / g + 1) - (b - c) ** 3 * (4 * n / g + 1) / g
    m4 = (b - c) ** 2 * ((b - c) ** 2 / g - (b + c)) / g
    roots = np.roots([m0, m1, m2, m3, m4])
    return np.sort(roots[np.abs(roots.imag) < 1e-9].real)


@pytest.mark.parametrize(
    ("b", "c", "n"), [(6, 16, 161), (1, 7, 21), (12, 2, 50), (40, 20, 160), (3, 1, 200), (2, 9, 30)]
)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_tango_limits_agree_with_the_closed_form_quartic(
    b: int, c: int, n: int, confidence: float
) -> None:
    """Bisection on T against the non-iterative solution: the limits are the outermost real roots
    of Yang et al.'s quartic."""
    z = Z.inv_cdf(0.5 + confidence / 2)
    roots = yang_quartic_roots(b, c, n, z)
    low, high = tango_interval(PairedTable(n - b - c, b, c, 0), confidence)
    assert low == pytest.approx(roots[0], abs=1e-8)
    assert high == pytest.approx(roots[-1], abs=1e-8)


@pytest.mark.parametrize("n", [1, 20, 100, 1000])
def test_upper_bound_without_discordance_has_a_closed_form(n: int) -> None:
    """By hand: with b = c = 0, q̂21 = 0 for δ > 0 and T(δ) = -sqrt(nδ/(1-δ)); solving
    T = -z gives U = z²/(n + z²)."""
    z = Z.inv_cdf(0.95)
    table = PairedTable(n, 0, 0, 0)
    assert tango_upper_bound(table, 0.95) == pytest.approx(z * z / (n + z * z), abs=1e-12)
    assert tango_interval(table, 0.90) == pytest.approx((-z * z / (n + z * z), z * z / (n + z * z)))


def test_noninferiority_p_value_from_the_brute_force_likelihood() -> None:
    """Independent: T(δ) rebuilt from the grid-maximised restricted likelihood, then Φ(T)."""
    for b, c, n, margin in [(6, 16, 161, 0.02), (9, 4, 120, 0.1), (0, 3, 60, 0.05)]:
        q = brute_force_q21(b, c, n, margin)
        expected = Z.cdf((b - c - n * margin) / math.sqrt(n * (2 * q + margin * (1 - margin))))
        result = noninferiority_test(PairedTable(n - b - c, b, c, 0), margin, 0.05)
        assert result.p_value == pytest.approx(expected, abs=1e-6)


def test_noninferiority_at_the_published_bound_is_borderline() -> None:
    """Cavo with the models swapped (candidate worse, d = +0.0621): the one-sided 97.5% upper
    bound is the published 0.1240, where the p-value is exactly 0.025; a margin just above it
    passes and just below it fails."""
    swapped = PairedTable(59, 16, 6, 80)
    upper = tango_upper_bound(swapped, 0.975)
    assert upper == pytest.approx(0.1240, abs=1e-4)
    assert Z.cdf(tango_statistic(swapped, upper)) == pytest.approx(0.025, abs=1e-9)
    assert noninferiority_test(swapped, upper + 1e-6, 0.025).non_inferior
    assert not noninferiority_test(swapped, upper - 1e-6, 0.025).non_inferior
    assert noninferiority_test(swapped, upper - 1e-6, 0.025).p_value > 0.025


def test_bound_and_p_value_give_the_same_verdict_and_t_decreases() -> None:
    """Tango's interval is the inversion of his test: T(δ) must decrease in δ and 'upper bound
    below the margin' must coincide with 'p below alpha' on every table."""
    deltas = np.linspace(-0.99, 0.99, 397)
    for n in (10, 37):
        for b, c in itertools.product(range(0, n + 1, 3), repeat=2):
            if b + c > n:
                continue
            table = PairedTable(n - b - c, b, c, 0)
            values = [tango_statistic(table, float(d)) for d in deltas]
            assert all(x >= y for x, y in itertools.pairwise(values))
            for margin in (0.05, 0.2):
                result = noninferiority_test(table, margin, 0.05)
                if abs(result.p_value - 0.05) > 1e-9:
                    assert result.non_inferior == (result.p_value < 0.05)


def test_tango_handles_tables_at_the_edges() -> None:
    everything_worse = PairedTable(0, 10, 0, 0)
    assert tango_upper_bound(everything_worse) == 1.0
    everything_better = PairedTable(0, 0, 10, 0)
    assert tango_interval(everything_better)[0] == pytest.approx(-1.0)
    mirrored = tango_interval(PairedTable(59, 16, 6, 80))
    assert mirrored == pytest.approx((0.0054, 0.1240), abs=1e-4)
    with pytest.raises(ValueError, match="delta"):
        tango_statistic(CAVO, 1.0)
    with pytest.raises(ValueError, match="margin"):
        noninferiority_test(CAVO, 0.0)


# --- Holm -----------------------------------------------------------------------------------


def test_holm_reproduces_the_worked_example() -> None:
    """Wikipedia's example rejects H1 and H4. Adjusted by hand: sorted 0.005·4 = 0.02,
    0.01·3 = 0.03, 0.03·2 = 0.06, max(0.04·1, 0.06) = 0.06."""
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm_adjust(p) == pytest.approx((0.03, 0.06, 0.06, 0.02), abs=1e-12)
    assert holm_reject(p, 0.05) == (True, False, False, True)


def test_holm_equals_closed_testing_with_bonferroni() -> None:
    """Independent: Holm is the closed testing procedure with Bonferroni local tests, so the
    adjusted p_i is the largest min(1, |J|·min_J p) over all index sets J containing i."""
    rng = random.Random(11)
    for _ in range(200):
        m = rng.randint(1, 6)
        p = [round(rng.random() ** 2, 3) for _ in range(m)]
        expected = [
            max(
                min(1.0, len(subset) * min(p[j] for j in subset))
                for size in range(1, m + 1)
                for subset in itertools.combinations(range(m), size)
                if i in subset
            )
            for i in range(m)
        ]
        assert holm_adjust(p) == pytest.approx(expected, abs=1e-12)


def test_holm_refuses_invalid_p_values() -> None:
    assert holm_adjust([]) == ()
    with pytest.raises(ValueError, match="p-value 1"):
        holm_adjust([0.1, 1.5])
    with pytest.raises(ValueError, match="p-value 0"):
        holm_adjust([float("nan")])


# --- planning -------------------------------------------------------------------------------


def test_planner_reduces_to_connors_mcnemar_example() -> None:
    """Margin 0 is the superiority case: p01 = 0.45, p10 = 0.05 (discordance 0.5, difference
    -0.4), alpha 0.05 one-sided, power 0.9 gives 23 pairs (Connor 1987 formula as worked on
    powerandsamplesize.com); the unrounded n from their R code is recomputed here."""
    z_a, z_b = Z.inv_cdf(0.95), Z.inv_cdf(0.90)
    connor = ((z_a * math.sqrt(0.5) + z_b * math.sqrt(0.5 - 0.16)) / 0.4) ** 2
    result = noninferiority_sample_size(0.0, 0.5, 0.05, 0.9, expected_difference=-0.4)
    assert result.items == 23
    assert result.exact_items == pytest.approx(connor, abs=1e-9)
    assert result.exact_items == pytest.approx(22.8091, abs=1e-4)


@pytest.mark.parametrize(("margin", "discordance"), [(0.02, 0.1), (0.05, 0.2), (0.1, 0.4)])
def test_planner_null_variance_uses_the_restricted_mle_at_expected_counts(
    margin: float, discordance: float
) -> None:
    """Independent: q̃21 by brute-force maximisation with expected counts of a large table."""
    n = 10**6
    half = round(n * discordance / 2)
    q = brute_force_q21(half, half, n, margin)
    expected_sd = math.sqrt(2 * q + margin * (1 - margin))
    result = noninferiority_sample_size(margin, discordance, 0.05, 0.8)
    assert result.null_sd == pytest.approx(expected_sd, abs=1e-6)
    z = Z.inv_cdf(0.95) * expected_sd + Z.inv_cdf(0.8) * math.sqrt(discordance)
    assert result.exact_items == pytest.approx((z / margin) ** 2, rel=1e-4)


def exact_rejection_rate(n: int, discordance: float, difference: float, margin: float) -> float:
    """Independent of the planner: P(T(margin) < -z_0.95) summed over the trinomial distribution
    of (b, c) with q12 = (ψ + d)/2, q21 = (ψ - d)/2, skipping cells below e^-40."""
    q12, q21, rest = (discordance + difference) / 2, (discordance - difference) / 2, 1 - discordance
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    z = Z.inv_cdf(0.95)
    total = 0.0
    for b in range(n + 1):
        for c in range(n - b + 1):
            log_p = (
                log_fact[n] - log_fact[b] - log_fact[c] - log_fact[n - b - c]
                + b * math.log(q12) + c * math.log(q21) + (n - b - c) * math.log(rest)
            )  # fmt: skip
            if log_p > -40 and tango_statistic(PairedTable(n - b - c, b, c, 0), margin) < -z:
                total += math.exp(log_p)
    return total


@pytest.mark.parametrize(
    ("margin", "discordance", "power"), [(0.1, 0.3, 0.8), (0.05, 0.2, 0.8), (0.1, 0.4, 0.9)]
)
def test_planned_size_reaches_the_power_by_exact_enumeration(
    margin: float, discordance: float, power: float
) -> None:
    planned = noninferiority_sample_size(margin, discordance, 0.05, power)
    achieved = exact_rejection_rate(planned.items, discordance, 0.0, margin)
    assert achieved == pytest.approx(power, abs=0.015)
    assert exact_rejection_rate(planned.items // 2, discordance, 0.0, margin) < power - 0.15
    # and the test keeps its level at the margin itself
    assert exact_rejection_rate(planned.items, discordance, margin, margin) < 0.065


def test_planner_moves_the_right_way() -> None:
    base = noninferiority_sample_size(0.02, 0.1, 0.05, 0.8).items
    assert noninferiority_sample_size(0.01, 0.1, 0.05, 0.8).items > base
    assert noninferiority_sample_size(0.02, 0.2, 0.05, 0.8).items > base
    assert noninferiority_sample_size(0.02, 0.1, 0.05, 0.9).items > base
    assert noninferiority_sample_size(0.02, 0.1, 0.01, 0.8).items > base


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"margin": -0.01, "discordance": 0.1}, "margin must be at least 0"),
        ({"margin": 0.02, "discordance": 0.0}, "discordance must be above 0"),
        ({"margin": 0.02, "discordance": 1.2}, "discordance must be above 0"),
        ({"margin": 0.1, "discordance": 0.1}, "nothing to test"),
        ({"margin": 0.02, "discordance": 0.1, "alpha": 0.6}, "alpha"),
        ({"margin": 0.02, "discordance": 0.1, "power": 0.3}, "power"),
        ({"margin": 0.0, "discordance": 0.1}, "expected_difference 0 must be below"),
        ({"margin": 0.02, "discordance": 0.1, "expected_difference": -0.2}, "cannot exceed"),
    ],
)
def test_planner_refuses_impossible_inputs(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        noninferiority_sample_size(**kwargs)


# --- the comparison in one call -------------------------------------------------------------


def test_compare_runs_puts_table_mcnemar_and_noninferiority_together() -> None:
    ids = [f"item-{i}" for i in range(161)]
    cells = ["pp"] * 59 + ["fp"] * 6 + ["pf"] * 16 + ["ff"] * 80
    candidate = {i: [cell[0] == "p"] for i, cell in zip(ids, cells, strict=True)}
    incumbent = {i: [cell[1] == "p"] for i, cell in zip(ids, cells, strict=True)}
    result = compare_runs(candidate, incumbent, margin=0.02, alpha=0.025)
    assert result.table == CAVO
    assert result.mcnemar.p_value == pytest.approx(0.052479, abs=1e-6)
    assert result.noninferiority.upper_bound == pytest.approx(-0.0054, abs=1e-4)
    assert result.noninferiority.non_inferior


# --- zonegate eval plan ---------------------------------------------------------------------


def plan_app() -> typer.Typer:
    app = typer.Typer()
    app.command("plan")(plan)

    @app.callback()
    def root() -> None:
        """Keeps ``plan`` a named subcommand, as under ``zonegate eval``."""

    return app


def test_plan_prints_items_assumptions_and_formula() -> None:
    args = ["plan", "--margin", "0.02", "--discordance", "0.1", "--alpha", "0.05", "--power", "0.8"]
    result = CliRunner().invoke(plan_app(), args)
    assert result.exit_code == 0, result.output
    expected = noninferiority_sample_size(0.02, 0.1, 0.05, 0.8).items
    text = " ".join(result.stdout.split())
    assert f"items needed │ {expected}" in text
    assert "true difference 0" in text
    assert "z[power]*sigma1" in text


def test_plan_json_is_machine_readable() -> None:
    args = ["plan", "--margin", "0.05", "--discordance", "0.2", "--power", "0.9", "--json"]
    result = CliRunner().invoke(plan_app(), args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["items"] == noninferiority_sample_size(0.05, 0.2, 0.05, 0.9).items
    assert body["alpha"] == 0.05
    assert body["assumptions"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--margin", "0", "--discordance", "0.1"], "--margin must be above 0"),
        (["--margin", "-0.1", "--discordance", "0.1"], "--margin must be above 0"),
        (["--margin", "0.02", "--discordance", "0"], "--discordance must be above 0"),
        (["--margin", "0.02", "--discordance", "1.5"], "--discordance must be above 0"),
        (["--margin", "0.2", "--discordance", "0.1"], "is not below --discordance"),
        (["--margin", "0.02", "--discordance", "0.1", "--alpha", "0.5"], "--alpha"),
        (["--margin", "0.02", "--discordance", "0.1", "--power", "1"], "--power"),
    ],
)
def test_plan_explains_impossible_inputs(args: list[str], message: str) -> None:
    result = CliRunner().invoke(plan_app(), ["plan", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
