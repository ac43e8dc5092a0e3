"""What ``zonegate eval run|runs|show`` draw: the progress bar and the tables.

Everything for a person goes to stderr (the bar) or is a table on stdout; ``--json`` output is
printed by the commands themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from zonegate.audit.chain import decimal_text
from zonegate.evals.suite import short_version
from zonegate.store.eval_repo import AttemptResult, RunInfo


class RunBar:
    """A Rich progress bar per run with ETA, running spend and passes (``RunProgress``)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("spend {task.fields[spend]}  passed {task.fields[passed]}"),
            console=console,
            transient=False,
        )
        self.current: RunInfo | None = None
        self._task: TaskID | None = None
        self._spend = Decimal(0)
        self._passed = 0

    def __enter__(self) -> RunBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def started(self, run: RunInfo, total: int, previous: Sequence[AttemptResult]) -> None:
        self.current = run
        self._spend = sum(
            (r.cost for r in previous if r.cost is not None and not r.cached), Decimal(0)
        )
        self._passed = sum(1 for r in previous if r.passed)
        self._task = self.progress.add_task(
            escape(f"{run.requested_model} {run.run_id[:8]}"),
            total=total,
            completed=len(previous),
            spend=_money(self._spend),
            passed=self._passed,
        )

    def advanced(self, result: AttemptResult) -> None:
        if self._task is None:
            return
        if result.cost is not None and not result.cached:
            self._spend += result.cost
        self._passed += int(result.passed)
        self.progress.update(self._task, advance=1, spend=_money(self._spend), passed=self._passed)


def _money(value: Decimal) -> str:
    return decimal_text(value)


def _rate(summary: Mapping[str, Any] | None) -> tuple[str, str]:
    """Pass rate and its interval as percentages, or dashes."""
    if not summary or summary.get("pass_rate") is None:
        return "-", "-"
    rate = f"{100 * summary['pass_rate']:.1f}%"
    interval = summary.get("interval")
    if not interval:
        return rate, "-"
    return rate, f"{100 * interval['low']:.1f}-{100 * interval['high']:.1f}%"


def _wide(console: Console) -> Console:
    return console if console.is_terminal else Console(width=200)


def summary_table(runs: Sequence[RunInfo], console: Console) -> None:
    """One row per run just made: pass rate with its 95% interval, errors, cache, spend."""
    table = Table(
        "run", "model", "served", "status", "pass rate", "95% CI", "passed", "errors", "cached"
    )
    for column in ("spend", "p50 ms"):
        table.add_column(column, justify="right")
    for run in runs:
        s = run.summary or {}
        rate, interval = _rate(s)
        latency = s.get("latency_ms") or {}
        table.add_row(
            run.run_id,
            escape(run.requested_model),
            escape(", ".join(run.served_models) or "-"),
            run.status,
            rate,
            interval,
            f"{s.get('passed', 0)}/{s.get('attempts', 0)}",
            str(s.get("errors", 0)),
            str(s.get("cached", 0)),
            str(s.get("spend", "0")),
            "-" if not latency else f"{latency['p50']:.0f}",
        )
    _wide(console).print(table)


def runs_table(runs: Sequence[RunInfo], console: Console) -> None:
    table = Table("run", "created", "suite", "version", "model", "status", "pass rate", "attempts")
    for run in runs:
        s = run.summary or {}
        table.add_row(
            run.run_id,
            run.created_at.isoformat()[:16].replace("T", " "),
            escape(run.suite_name),
            short_version(run.suite_version),
            escape(run.requested_model),
            run.status,
            _rate(s)[0],
            f"{s.get('attempts', '-')}/{run.repeats * len(run.suite.get('items', ()))}",
        )
    _wide(console).print(table)


def show_document(document: Mapping[str, Any], console: Console) -> None:
    """A run for a person: what was run, the headline numbers, each attempt and the errors."""
    out = _wide(console)
    s = document["summary"]
    suite = document["suite"]
    rate, interval = _rate(s)
    lines = [
        f"run        {document['run_id']}  ({document['status']})",
        f"suite      {suite['name']} {short_version(suite['version'])} "
        f"({len(suite['items'])} items, {document['repeats']} attempt(s) each)",
        f"model      {document['model']['requested']} -> "
        f"{', '.join(document['model']['served']) or '-'}",
        f"config     {document['config']['hash'][:19]} ({document['config']['source']})",
        f"parameters {document['parameters']}",
        f"pass rate  {rate} (95% CI {interval}), {s['passed']}/{s['attempts']} passed, "
        f"{s['errors']} error(s), {s['cached']} cached",
        f"spend      {s['spend']} (answers cost {s['cost']})",
    ]
    for line in lines:
        out.print(line, highlight=False, markup=False)
    table = Table("item", "attempt", "result", "scores", "ms", "tokens", "cost", "request id")
    for r in document["results"]:
        scores = ", ".join(
            f"{x['scorer']} {'pass' if x['passed'] else 'fail'}" for x in r["scores"]
        )
        result = "pass" if r["passed"] else (r["error_code"] or "fail")
        tokens = f"{r['prompt_tokens'] or 0}+{r['completion_tokens'] or 0}"
        latency = "cached" if r["cached"] else f"{r['latency_ms'] or 0:.0f}"
        table.add_row(
            escape(r["item_id"]),
            str(r["attempt"]),
            escape(result),
            escape(scores),
            latency,
            tokens,
            r["cost"] or "-",
            r["request_id"] or "-",
        )
    out.print(table)
    for e in document["errors"]:
        out.print(
            f"error: {e['item_id']} attempt {e['attempt']}: {e['error_code']}: "
            f"{e['error_message']} (request {e['request_id'] or '-'})",
            highlight=False,
            markup=False,
        )
