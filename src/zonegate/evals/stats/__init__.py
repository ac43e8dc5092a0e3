"""Statistics for evaluation runs: pass rates, paired comparisons, multiplicity and planning.

Pure functions over counts and outcomes, each pinned in tests to published or independently
computed values. Modules: ``proportion`` (Wilson, clustered errors), ``paired`` (2x2 table, exact
McNemar), ``tango`` (non-inferiority score test and interval), ``multiplicity`` (Holm),
``planning`` (sample size), ``comparison`` (all of the paired pieces in one call).
"""

from zonegate.evals.stats.comparison import PairedComparison, compare_runs
from zonegate.evals.stats.multiplicity import holm_adjust, holm_reject
from zonegate.evals.stats.paired import (
    McNemarResult,
    PairedTable,
    Reduction,
    mcnemar_exact,
    paired_table,
    reduce_attempts,
)
from zonegate.evals.stats.planning import SampleSizePlan, noninferiority_sample_size
from zonegate.evals.stats.proportion import (
    ClusteredPassRate,
    PassRate,
    clustered_pass_rate,
    pass_rate,
    wilson_interval,
)
from zonegate.evals.stats.tango import (
    NonInferiority,
    noninferiority_test,
    restricted_q21,
    tango_interval,
    tango_statistic,
    tango_upper_bound,
)

__all__ = [
    "ClusteredPassRate",
    "McNemarResult",
    "NonInferiority",
    "PairedComparison",
    "PairedTable",
    "PassRate",
    "Reduction",
    "SampleSizePlan",
    "clustered_pass_rate",
    "compare_runs",
    "holm_adjust",
    "holm_reject",
    "mcnemar_exact",
    "noninferiority_sample_size",
    "noninferiority_test",
    "paired_table",
    "pass_rate",
    "reduce_attempts",
    "restricted_q21",
    "tango_interval",
    "tango_statistic",
    "tango_upper_bound",
    "wilson_interval",
]
