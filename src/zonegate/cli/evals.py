"""``zonegate eval``: suites, runs, comparisons, plans and reports. Each command lives in the
module of the part it drives; this file only gathers them under one group."""

from __future__ import annotations

import typer

from zonegate.cli import eval_compare, eval_plan, eval_report, eval_run, eval_suites

app = typer.Typer(
    help="Evaluate models on versioned suites and compare them with statistical gates.",
    no_args_is_help=True,
)
app.command("suites")(eval_suites.suites)
app.command("export-suite")(eval_suites.export_suite)
app.command("run")(eval_run.run)
app.command("runs")(eval_run.runs)
app.command("show")(eval_run.show)
app.command("compare")(eval_compare.compare)
app.command("plan")(eval_plan.plan)
app.command("report")(eval_report.report)
app.command("export")(eval_report.export)
app.command("import")(eval_report.import_)
