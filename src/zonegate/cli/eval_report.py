"""``zonegate eval report|export|import``: reports over runs, and runs as portable JSONL.

``report`` takes runs by id (or 8+ character prefix), the first being the candidate, or
``--latest [N]``: the N newest runs (default 2) of ``--suite`` or, without it, of the newest
run's suite, newest first (so the newest run is the candidate).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from zonegate.cli.common import ConfigOption, DataDirOption, fail, load, open_database, stderr
from zonegate.cli.eval_common import config_problems
from zonegate.errors import ConfigError, ZonegateError
from zonegate.evals.document import run_document
from zonegate.evals.report import FORMATS, Report, ReportFormat, build_report, write_report
from zonegate.evals.report.model import DEFAULT_MIN_ITEMS
from zonegate.evals.run_portable import export_text, import_run
from zonegate.store.db import Database
from zonegate.store.eval_repo import EvalRepository

DEFAULT_LATEST = 2


def report(
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Run ids (or 8+ character prefixes), the candidate first. With --latest: "
            "nothing, or how many newest runs to take.",
            show_default=False,
        ),
    ] = None,
    latest: Annotated[
        bool,
        typer.Option(
            "--latest",
            help=f"Report the newest runs: `--latest` takes {DEFAULT_LATEST}, `--latest N` N.",
        ),
    ] = False,
    suite: Annotated[
        str | None,
        typer.Option("--suite", help="With --latest: only runs of this suite (by name)."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="md or html (default: from --output's suffix, else html).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Report file (default: ./eval-report-<candidate id>.<format>). Markdown "
            "writes its plots next to it as PNG files.",
            show_default=False,
        ),
    ] = None,
    margin: Annotated[
        float,
        typer.Option(help="Largest acceptable rise in failure rate (0.02 = two points)."),
    ] = 0.02,
    alpha: Annotated[float, typer.Option(help="One-sided level of the non-inferiority test.")] = (
        0.05
    ),
    min_items: Annotated[
        int,
        typer.Option(help="Fewest paired items a passing verdict rests on (as eval compare)."),
    ] = DEFAULT_MIN_ITEMS,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a report over runs: pass rates, per tag, latency, cost, failures, and with runs of
    one suite version the paired comparison and its verdict."""
    chosen = _format(fmt, output)
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        documents = _documents(db, runs or [], latest, suite)
    try:
        built = build_report(documents, margin=margin, alpha=alpha, min_items=min_items)
    except ValueError as exc:
        fail(str(exc), 2)
    path = output or Path(f"eval-report-{built.runs[0].run_id[:8]}.{chosen}")
    try:
        written = write_report(built, path, chosen)
    except OSError as exc:
        fail(f"cannot write the report to {path}: {exc.strerror or exc}")
    _say(built, written)


def _format(fmt: str | None, output: Path | None) -> ReportFormat:
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    suffix = {"markdown": "md", "htm": "html"}.get(suffix, suffix)
    chosen = fmt or (suffix if suffix in FORMATS else "html")
    if chosen == "md":
        return "md"
    if chosen == "html":
        return "html"
    fail(f"--format {chosen!r} is not one of {', '.join(FORMATS)}", 2)


def _documents(
    db: Database, refs: list[str], latest: bool, suite: str | None
) -> list[dict[str, Any]]:
    repo = EvalRepository(db)
    if latest:
        count = DEFAULT_LATEST
        if len(refs) > 1 or (refs and not refs[0].isdigit()):
            fail("give runs or --latest [N], not both", 2)
        if refs:
            count = int(refs[0])
            if count < 1:
                fail("--latest N needs N of 1 or more", 2)
        if suite is None:
            newest = repo.list_runs(limit=1)
            if not newest:
                fail("no evaluation runs yet: start one with `zonegate eval run SUITE`", 2)
            suite = newest[0].suite_name
        found = repo.list_runs(suite=suite, limit=count)
        if not found:
            fail(f"no runs of suite {suite!r}: `zonegate eval runs` lists them", 2)
        refs = [r.run_id for r in found]
    elif not refs:
        fail("name the runs to report (candidate first), or use --latest", 2)
    elif suite is not None:
        fail("--suite picks runs with --latest; drop it when naming runs", 2)
    try:
        return [run_document(db, ref) for ref in refs]
    except ZonegateError as exc:
        fail(exc.message, 2)


def _say(built: Report, written: list[Path]) -> None:
    out = Console(soft_wrap=True, highlight=False)
    plots = len(written) - 1
    first = written[0]
    detail = f" and {plots} plot(s) beside it" if plots else ""
    out.print(f"wrote {first}{detail}", markup=False)
    for comparison in built.comparisons:
        candidate = built.run(comparison.candidate).label
        incumbent = built.run(comparison.incumbent).label
        gate, reading = comparison.gate, comparison.reading
        if gate is None or reading is None:
            out.print(
                f"{candidate} vs {incumbent}: not compared: {comparison.problem}", markup=False
            )
            continue
        failed = "" if gate.passed else f" ({', '.join(c.name for c in gate.failures)})"
        out.print(
            f"{candidate} vs {incumbent}: gate {'PASS' if gate.passed else 'FAIL'}{failed}; "
            f"tests read {reading.title}: {reading.reason}",
            markup=False,
        )


def export(
    run: Annotated[str, typer.Argument(help="A run id, or its first 8 or more characters.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (default: standard output).", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a run as portable JSONL: a header line (the run document without its results),
    then one line per item and attempt."""
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        try:
            document = run_document(db, run)
        except ZonegateError as exc:
            fail(exc.message, 2)
    text = export_text(document)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    stderr.print(
        f"wrote run {document['run_id']} ({len(document['results'])} results) to {output}",
        highlight=False,
        markup=False,
    )


def import_(
    file: Annotated[Path, typer.Argument(help="A run exported with `zonegate eval export`.")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Store an exported run in this database, under its own run id (a run already here is
    refused, never overwritten)."""
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        try:
            run = import_run(db, file)
        except ConfigError as exc:
            config_problems(exc)
        except ZonegateError as exc:
            fail(exc.message, 2)
    Console(highlight=False).print(
        f"imported run {run.run_id} ({run.suite_name}, {run.requested_model}, {run.status})",
        markup=False,
    )
