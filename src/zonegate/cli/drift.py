"""``zonegate drift run|status``: watch API models for silent changes (``zonegate.evals.drift``).

``run`` is meant for cron or CI: it starts the gateway in this process, runs each route's canary
suite against the route's API models with the cache off, compares with each model's baseline,
records an admin event per check and exits 0 when nothing was found, 1 when a check raised an
alarm or could not be completed (errors in the new run: someone should look either way), 2 on a
usage or config error, 130 when interrupted. ``status`` shows the last check of each model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zonegate.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    fail,
    load,
    open_database,
    print_json,
    stderr,
)
from zonegate.cli.eval_common import (
    INTERRUPTED,
    USAGE,
    ConcurrencyOption,
    JudgeOption,
    RetriesOption,
    TeamOption,
    TimeoutOption,
    run_in_gateway,
    scorers_or_exit,
    suite_or_exit,
)
from zonegate.cli.eval_view import RunBar
from zonegate.config.load import LoadedConfig
from zonegate.errors import InvalidRequest, ZonegateError
from zonegate.evals.client import open_gateway
from zonegate.evals.drift import (
    DriftCheck,
    DriftTarget,
    DriftWatch,
    RecordedCheck,
    assign_pinned,
    drift_targets,
    latest_checks,
)
from zonegate.evals.runner import EvalRunner, RetryPolicy, RunOptions
from zonegate.evals.types import Scorer, Suite
from zonegate.store.db import Database
from zonegate.store.eval_repo import EvalRepository, RunInfo

ALARM = 1

app = typer.Typer(
    help="Re-run canary suites against API models and raise an alarm when their answers drift.",
    no_args_is_help=True,
)

RouteOption = Annotated[
    list[str] | None,
    typer.Option(
        "--route",
        "-r",
        help="A route to check; repeatable. Default: every route with 'drift' configured.",
        show_default=False,
    ),
]


@dataclass(frozen=True, slots=True)
class _Planned:
    target: DriftTarget
    suite: Suite
    scorers: list[Scorer]
    pinned: RunInfo | None


@app.command("run")
def run(
    route: RouteOption = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option(
            "--baseline",
            metavar="RUN_ID",
            help="Compare with this run instead of the model's first good run; repeatable "
            "(each applies to the model and suite it was run with).",
            show_default=False,
        ),
    ] = None,
    team: TeamOption = "default",
    judge: JudgeOption = None,
    concurrency: ConcurrencyOption = 4,
    retries: RetriesOption = 2,
    timeout: TimeoutOption = 120.0,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check each API model of the routes for drift; exit 1 on an alarm or an incomplete check."""
    loaded = load(config)
    try:
        targets, notes = drift_targets(loaded.config, route or ())
    except InvalidRequest as exc:
        fail(exc.message, USAGE)
    suites: dict[str, tuple[Suite, list[Scorer]]] = {}
    for target in targets:
        if target.suite not in suites:
            found = suite_or_exit(target.suite)
            suites[target.suite] = (found, scorers_or_exit(found))
    options = RunOptions(
        concurrency=concurrency,
        retry=RetryPolicy(tries=retries + 1, timeout=timeout),
        judge_model=judge,
        team=team,
    )
    with open_database(data_dir, loaded) as db:
        repo = EvalRepository(db)
        try:
            pinned = [repo.resolve(ref) for ref in baseline or []]
            chosen = assign_pinned(pinned, [(t, suites[t.suite][0]) for t in targets])
        except ZonegateError as exc:
            fail(exc.message, USAGE)
        plan = [_Planned(t, *suites[t.suite], chosen.get((t.route, t.model))) for t in targets]
        checks = _execute(db, loaded, options, plan) if plan else []
    if as_json:
        print_json({"checks": [c.to_json() for c in checks], "notes": notes})
    else:
        _print_checks(checks, notes, Console())
    if any(c.verdict in ("alarm", "inconclusive") for c in checks):
        raise typer.Exit(ALARM)


def _execute(
    db: Database, loaded: LoadedConfig, options: RunOptions, plan: Sequence[_Planned]
) -> list[DriftCheck]:
    bar = RunBar(stderr)

    async def go() -> list[DriftCheck]:
        done: list[DriftCheck] = []
        async with open_gateway(loaded, db, team=options.team) as client:
            runner = EvalRunner(EvalRepository(db), client, loaded, options=options, progress=bar)
            watch = DriftWatch(db, runner)
            for p in plan:
                done.append(await watch.check(p.target, p.suite, p.scorers, p.pinned))
        return done

    def interrupted() -> NoReturn:
        fail("interrupted: checks finished before this point are recorded", INTERRUPTED)

    return run_in_gateway(bar, go, interrupted)


def _p(value: Any) -> str:
    return "-" if value is None else f"{value:.3g}"


def _wide(console: Console) -> Console:
    return console if console.is_terminal else Console(width=200)


def _print_checks(checks: Sequence[DriftCheck], notes: Sequence[str], console: Console) -> None:
    out = _wide(console)
    for note in notes:
        out.print(escape(note), highlight=False)
    if not checks:
        out.print("No API model to check.")
        return
    table = Table("route", "model", "verdict", "pass->fail", "fail->pass", "McNemar p")
    for column in ("answers changed", "served model"):
        table.add_column(column)
    for c in checks:
        served = ", ".join(c.served_after) or "-"
        if c.served_changed:
            served = f"{', '.join(c.served_before) or '-'} -> {served}"
        table.add_row(
            escape(c.route),
            escape(c.model),
            c.verdict.upper() if c.alarm else c.verdict,
            str(c.regression_count),
            str(c.improvement_count),
            _p(c.p_value),
            f"{c.answers_changed}/{c.paired_items}" if c.baseline_run_id else "-",
            escape(served),
        )
    out.print(table)
    for c in checks:
        where = f"{c.route}/{c.model}"
        compared = (
            f"baseline {c.baseline_run_id}" + (" (pinned)" if c.baseline_pinned else "")
            if c.baseline_run_id
            else "no baseline"
        )
        out.print(escape(f"{where}: run {c.run_id}, {compared}"), highlight=False)
        label = "alarm" if c.alarm else c.verdict
        for line in c.reasons:
            out.print(escape(f"{label}: {where}: {line}"), highlight=False)
        for line in c.warnings:
            out.print(escape(f"warning: {where}: {line}"), highlight=False)
        for line in c.notes:
            out.print(escape(f"{where}: {line}"), highlight=False)


@app.command("status")
def status(
    route: RouteOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The last drift check of each route's API models, from the admin trail."""
    loaded = load(config)
    try:
        configured, _ = drift_targets(loaded.config, route or ())
    except InvalidRequest as exc:
        if route:
            fail(exc.message, USAGE)
        configured = []  # no route has drift configured now; earlier checks still show
    with open_database(data_dir, loaded) as db:
        recorded = latest_checks(db, route or ())
    seen = {(r.route, r.model) for r in recorded}
    unchecked = [t for t in configured if (t.route, t.model) not in seen]
    if as_json:
        print_json(
            {
                "checks": [_status_json(r) for r in recorded],
                "unchecked": [{"route": t.route, "model": t.model} for t in unchecked],
            }
        )
        return
    if not recorded and not unchecked:
        stderr.print("No drift checks yet: run `zonegate drift run`.")
        return
    table = Table("route", "model", "checked", "verdict", "pass->fail", "fail->pass")
    for column in ("McNemar p", "served model", "run"):
        table.add_column(column)
    for r in recorded:
        c = r.check
        flips = c.get("flips") or {}
        served = (c.get("served_models") or {}).get("now") or []
        table.add_row(
            escape(r.route),
            escape(r.model),
            r.at.isoformat()[:16].replace("T", " "),
            str(c.get("verdict", "-")),
            str(flips.get("pass_to_fail", "-")),
            str(flips.get("fail_to_pass", "-")),
            _p(c.get("mcnemar_p")),
            escape(", ".join(served) or "-"),
            str(c.get("run_id", "-")),
        )
    for t in unchecked:
        table.add_row(escape(t.route), escape(t.model), "never", "-", "-", "-", "-", "-", "-")
    _wide(Console()).print(table)


def _status_json(recorded: RecordedCheck) -> dict[str, Any]:
    return {
        **dict(recorded.check),
        "checked_at": recorded.at.isoformat(),
        "action": recorded.action,
        "actor": recorded.actor,
        "event_id": recorded.event_id,
    }
