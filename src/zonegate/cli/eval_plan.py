"""``zonegate eval plan``: how many items a non-inferiority comparison needs, before running it."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zonegate.cli.common import JsonOption, fail, print_json
from zonegate.evals.stats import SampleSizePlan, noninferiority_sample_size

ASSUMPTIONS = (
    "the candidate truly fails exactly as often as the incumbent (true difference 0)",
    "items are independent; each model has one pass/fail per item (repeats reduced first)",
    "the test is Tango's one-sided score test of non-inferiority (normal approximation)",
)
SOURCE = "Nam (1997) Biometrics 53:1422-1430; Tango (1998) Statistics in Medicine 17:891-908"


def plan(
    margin: Annotated[
        float,
        typer.Option(
            "--margin",
            help="Largest acceptable rise in failure rate, as a fraction (0.02 = two points).",
            show_default=False,
        ),
    ],
    discordance: Annotated[
        float,
        typer.Option(
            "--discordance",
            help="Expected share of items where exactly one of the two models fails.",
            show_default=False,
        ),
    ],
    alpha: Annotated[
        float, typer.Option("--alpha", help="One-sided significance level of the test.")
    ] = 0.05,
    power: Annotated[
        float, typer.Option("--power", help="Chance of showing non-inferiority when it holds.")
    ] = 0.8,
    as_json: JsonOption = False,
) -> None:
    """Items needed to show a candidate is at most MARGIN worse than the incumbent."""
    if not margin > 0:
        fail(
            f"--margin must be above 0, got {margin:g}: it is the largest rise in failure rate "
            "you accept, e.g. --margin 0.02 for two percentage points",
            2,
        )
    if not 0 < discordance <= 1:
        fail(
            f"--discordance must be above 0 and at most 1, got {discordance:g}: it is the share "
            "of items where the two models disagree, e.g. 0.1; estimate it from a pilot run",
            2,
        )
    if not 0 < alpha < 0.5:
        fail(f"--alpha must be between 0 and 0.5 (exclusive), got {alpha:g}; 0.05 is usual", 2)
    if not 0.5 <= power < 1:
        fail(f"--power must be at least 0.5 and below 1, got {power:g}; 0.8 or 0.9 is usual", 2)
    if margin >= discordance:
        fail(
            f"--margin {margin:g} is not below --discordance {discordance:g}: if only "
            f"{discordance:g} of items get different verdicts, the failure rates cannot differ "
            f"by {margin:g}, so there is nothing to test; lower the margin or, if a pilot run "
            "showed more disagreement, raise the discordance",
            2,
        )
    try:
        result = noninferiority_sample_size(margin, discordance, alpha, power)
    except ValueError as exc:  # the checks above should leave nothing for the library to refuse
        fail(str(exc), 2)
    if as_json:
        print_json(_as_dict(result))
        return
    table = Table("", "value", title="Paired non-inferiority plan", show_header=False)
    table.add_row("items needed", f"[bold]{result.items}[/]")
    table.add_row("margin", f"{margin:g} (failure rate may rise by at most this)")
    table.add_row("discordance", f"{discordance:g}")
    table.add_row("alpha (one-sided)", f"{alpha:g}")
    table.add_row("power", f"{power:g}")
    table.add_row("assumptions", "\n".join(f"- {line}" for line in ASSUMPTIONS))
    table.add_row(
        "formula",
        f"{escape(result.formula)}\nsigma0 = {result.null_sd:.6f} (variance under d = margin, "
        f"restricted MLE)\nsigma1 = {result.alternative_sd:.6f} (sqrt(discordance))\n"
        f"unrounded n = {result.exact_items:.4f}\n{SOURCE}",
    )
    Console().print(table)


def _as_dict(result: SampleSizePlan) -> dict[str, Any]:
    return {
        "items": result.items,
        "exact_items": result.exact_items,
        "margin": result.margin,
        "discordance": result.discordance,
        "alpha": result.alpha,
        "power": result.power,
        "expected_difference": result.expected_difference,
        "null_sd": result.null_sd,
        "alternative_sd": result.alternative_sd,
        "formula": result.formula,
        "assumptions": list(ASSUMPTIONS),
        "source": SOURCE,
    }
