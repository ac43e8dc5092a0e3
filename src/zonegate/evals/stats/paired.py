"""Two runs on the same suite version, item by item: the 2x2 table and the exact McNemar test.

Both models answer the same items, so the comparison is paired: items both pass or both fail say
nothing about which model is better; only the discordant items (one fails, the other passes) do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from zonegate.evals.stats._numeric import check_count

Reduction = Literal["majority", "all"]
"""How an item's repeated attempts become one pass/fail per model.

``majority``: the item passes when more than half its attempts pass (a tie counts as a failure).
``all``: the item passes only when every attempt passes (the strict, pass^k reading).

Attempts are not paired with each other: the paired tests assume independent pairs, and attempts
of one item are correlated, so counting each attempt as a pair would overstate the evidence.
"""


@dataclass(frozen=True, slots=True)
class PairedTable:
    """The 2x2 table of paired outcomes, oriented on failures of candidate vs incumbent.

    In Tango's (1998) notation with "event" = failure and condition 1 = the candidate:
    ``candidate_only_fail`` is x12 (b), ``incumbent_only_fail`` is x21 (c).
    """

    both_pass: int
    candidate_only_fail: int
    incumbent_only_fail: int
    both_fail: int

    def __post_init__(self) -> None:
        for name in ("both_pass", "candidate_only_fail", "incumbent_only_fail", "both_fail"):
            check_count(name, getattr(self, name))
        if self.n == 0:
            raise ValueError("the paired table is empty: compare at least one item")

    @property
    def n(self) -> int:
        return self.both_pass + self.candidate_only_fail + self.incumbent_only_fail + self.both_fail

    @property
    def discordant(self) -> int:
        return self.candidate_only_fail + self.incumbent_only_fail

    @property
    def discordance_rate(self) -> float:
        return self.discordant / self.n

    @property
    def candidate_failure_rate(self) -> float:
        return (self.candidate_only_fail + self.both_fail) / self.n

    @property
    def incumbent_failure_rate(self) -> float:
        return (self.incumbent_only_fail + self.both_fail) / self.n

    @property
    def difference(self) -> float:
        """Observed d = failure rate(candidate) - failure rate(incumbent) = (b - c) / n."""
        return (self.candidate_only_fail - self.incumbent_only_fail) / self.n


def reduce_attempts(attempts: Sequence[bool], reduction: Reduction) -> bool:
    """One pass/fail for an item from its attempts (see ``Reduction``)."""
    if len(attempts) == 0:
        raise ValueError("an item with no attempts cannot be compared")
    passes = sum(1 for passed in attempts if passed)
    if reduction == "majority":
        return 2 * passes > len(attempts)
    if reduction == "all":
        return passes == len(attempts)
    raise ValueError(f"unknown reduction {reduction!r}: use 'majority' or 'all'")


def paired_table(
    candidate: Mapping[str, Sequence[bool]],
    incumbent: Mapping[str, Sequence[bool]],
    reduction: Reduction = "majority",
) -> PairedTable:
    """Align two runs by item id and count the four cells.

    Both runs must cover exactly the same items (same suite version); a missing item is an error
    rather than a silent drop, because dropping items one model failed to answer biases the
    comparison.
    """
    only_candidate = sorted(set(candidate) - set(incumbent))
    only_incumbent = sorted(set(incumbent) - set(candidate))
    if only_candidate or only_incumbent:
        parts = []
        if only_candidate:
            parts.append(f"only the candidate has {_preview(only_candidate)}")
        if only_incumbent:
            parts.append(f"only the incumbent has {_preview(only_incumbent)}")
        raise ValueError(
            "the runs do not cover the same items (" + "; ".join(parts) + "): "
            "compare runs of the same suite version"
        )
    cells = [0, 0, 0, 0]  # both pass, candidate-only fail, incumbent-only fail, both fail
    for item_id in candidate:
        try:
            cand = reduce_attempts(candidate[item_id], reduction)
            inc = reduce_attempts(incumbent[item_id], reduction)
        except ValueError as exc:
            raise ValueError(f"item {item_id!r}: {exc}") from None
        cells[(0 if cand else 1) + (0 if inc else 2)] += 1
    both_pass, candidate_only_fail, incumbent_only_fail, both_fail = cells
    return PairedTable(both_pass, candidate_only_fail, incumbent_only_fail, both_fail)


def _preview(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    more = len(ids) - limit
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True, slots=True)
class McNemarResult:
    """Two-sided exact McNemar test of equal failure rates (the conditional binomial test)."""

    candidate_only_fail: int
    incumbent_only_fail: int
    p_value: float
    mid_p_value: float


def mcnemar_exact(table: PairedTable) -> McNemarResult:
    """Exact conditional McNemar test: given m = b + c discordant items, b ~ Binomial(m, 1/2).

    p = min(1, 2·P(X <= min(b, c))); mid-p = 2·[P(X <= min(b, c)) - P(X = min(b, c))/2]
    (Fagerland, Lydersen & Laake 2013, BMC Med Res Methodol 13:91), which is less conservative
    and which they recommend. With no discordant items both are 1.
    """
    b, c = table.candidate_only_fail, table.incumbent_only_fail
    m = b + c
    if m == 0:
        return McNemarResult(b, c, 1.0, 1.0)
    k = min(b, c)
    log_pmf = [_log_binomial_half(m, i) for i in range(k + 1)]
    top = max(log_pmf)
    cdf = math.exp(top) * math.fsum(math.exp(v - top) for v in log_pmf)
    point = math.exp(log_pmf[-1])
    return McNemarResult(b, c, min(1.0, 2.0 * cdf), min(1.0, 2.0 * (cdf - point / 2.0)))


def _log_binomial_half(m: int, i: int) -> float:
    """log P(X = i) for X ~ Binomial(m, 1/2), in log space so large m neither overflows nor
    underflows (2^-m is below the smallest double past m = 1074)."""
    return math.lgamma(m + 1) - math.lgamma(i + 1) - math.lgamma(m - i + 1) - m * math.log(2.0)
