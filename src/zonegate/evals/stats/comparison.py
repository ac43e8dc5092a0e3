"""One call for the gate: table, exact McNemar and Tango non-inferiority for two runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zonegate.evals.stats.paired import (
    McNemarResult,
    PairedTable,
    Reduction,
    mcnemar_exact,
    paired_table,
)
from zonegate.evals.stats.tango import NonInferiority, noninferiority_test


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Candidate vs incumbent on one suite version.

    McNemar answers "do they differ at all?" (two-sided); the non-inferiority test answers the
    promotion question "is the candidate at most ``margin`` worse?". They can disagree: a
    significant McNemar with the candidate better is still non-inferior.
    """

    table: PairedTable
    reduction: Reduction
    mcnemar: McNemarResult
    noninferiority: NonInferiority


def compare_runs(
    candidate: Mapping[str, Sequence[bool]],
    incumbent: Mapping[str, Sequence[bool]],
    margin: float,
    alpha: float = 0.05,
    reduction: Reduction = "majority",
) -> PairedComparison:
    """Pair two runs by item id (attempt outcomes per item) and run both tests."""
    table = paired_table(candidate, incumbent, reduction)
    return PairedComparison(
        table=table,
        reduction=reduction,
        mcnemar=mcnemar_exact(table),
        noninferiority=noninferiority_test(table, margin, alpha),
    )
