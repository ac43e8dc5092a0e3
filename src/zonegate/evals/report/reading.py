"""What the two paired tests say together, in one word and a sentence.

The gate (``zonegate.evals.gate``) decides; this only reads its two tests for a person.
Non-inferiority (Tango) says whether the candidate is shown to be at most ``margin`` worse;
McNemar's two-sided test refines it: a non-inferior candidate that also fails significantly
less is ``better``; one not shown non-inferior that fails significantly more is ``worse``;
the rest not shown non-inferior is ``inconclusive`` (more items may decide it; see
``zonegate eval plan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zonegate.evals.stats import PairedComparison

ReadingLabel = Literal["better", "non_inferior", "inconclusive", "worse"]


@dataclass(frozen=True, slots=True)
class Reading:
    label: ReadingLabel
    non_inferior: bool
    reason: str

    @property
    def title(self) -> str:
        return self.label.replace("_", "-").upper()


def read_tests(comparison: PairedComparison) -> Reading:
    """The label, whether non-inferiority is shown, and a one-sentence reason."""
    ni = comparison.noninferiority
    mcnemar = comparison.mcnemar
    b, c = mcnemar.candidate_only_fail, mcnemar.incumbent_only_fail
    differs = mcnemar.p_value < ni.alpha
    bound = (
        f"the upper {100 * (1 - ni.alpha):g}% bound of the rise in failure rate is "
        f"{_points(ni.upper_bound)}"
    )
    margin = f"the margin of {_points(ni.margin)}"
    if ni.non_inferior:
        if differs and b < c:
            return Reading(
                "better",
                True,
                f"{bound}, below {margin}, and the candidate fails significantly less often "
                f"(McNemar p = {mcnemar.p_value:.3g}, {b} vs {c} discordant items)",
            )
        return Reading("non_inferior", True, f"{bound}, below {margin}")
    if differs and b > c:
        return Reading(
            "worse",
            False,
            f"{bound}, not below {margin}, and the candidate fails significantly more often "
            f"(McNemar p = {mcnemar.p_value:.3g}, {b} vs {c} discordant items)",
        )
    return Reading(
        "inconclusive",
        False,
        f"{bound}, not below {margin}: non-inferiority is not shown (more items may decide it; "
        "`zonegate eval plan` says how many)",
    )


def _points(fraction: float) -> str:
    """A difference of rates in percentage points, signed."""
    return f"{100 * fraction:+.1f} points"
