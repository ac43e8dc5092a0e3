"""``zonegate eval run|runs|show``: run a suite through the gateway, list runs, show one.

``run`` starts the gateway in this process over the configured state database and calls it as
the principal ``eval`` (a key created for the run's duration in ``--team``, then revoked), with
``X-Zonegate-Purpose: evaluation``: policy, detection, guards and audit apply as to any caller.
Ctrl-C stops cleanly and prints the command that resumes the run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

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
    ConcurrencyOption,
    JudgeOption,
    RetriesOption,
    TeamOption,
    TimeoutOption,
    run_in_gateway,
    scorers_or_exit,
    suite_or_exit,
)
from zonegate.cli.eval_view import RunBar, runs_table, show_document, summary_table
from zonegate.config.load import LoadedConfig
from zonegate.errors import ZonegateError
from zonegate.evals.client import open_gateway
from zonegate.evals.document import build_document
from zonegate.evals.runner import EvalRunner, RetryPolicy, RunOptions, check_resumable
from zonegate.evals.types import Scorer, Suite
from zonegate.store.db import Database
from zonegate.store.eval_repo import EvalRepository, RunInfo


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value is JSON when it parses as JSON (0.2, true, [1]), else text."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(
                f"--param {pair!r} is not key=value; write e.g. --param temperature=0.2"
            )
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def run(
    suite: Annotated[
        str | None,
        typer.Argument(
            help="A suite: a directory, suite.yaml or export, or the name of a shipped example "
            "or of a suite under ./suites. Optional with --resume.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Route or model id to evaluate; repeat for several (one run each, same suite "
            "version). Default: the suite's route.",
            show_default=False,
        ),
    ] = None,
    repeats: Annotated[int, typer.Option(min=1, help="Attempts per item.")] = 1,
    concurrency: ConcurrencyOption = 4,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Request parameter over the suite's, key=value (JSON value), e.g. "
            "temperature=0.2; repeatable.",
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Call the model for every attempt, even where a cached answer exists (drift "
            "runs); fresh answers are still stored.",
        ),
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN_ID",
            help="Complete an interrupted run: only its missing (item, attempt) pairs run.",
            show_default=False,
        ),
    ] = None,
    judge: JudgeOption = None,
    team: TeamOption = "default",
    retries: RetriesOption = 2,
    timeout: TimeoutOption = 120.0,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a suite against one or more models through the gateway and record each run."""
    loaded = load(config)
    try:
        overrides = parse_params(param or [])
    except ValueError as exc:
        fail(str(exc), 2)
    options = RunOptions(
        concurrency=concurrency,
        retry=RetryPolicy(tries=retries + 1, timeout=timeout),
        judge_model=judge,
        team=team,
    )
    with open_database(data_dir, loaded) as db:
        repo = EvalRepository(db)
        if resume is not None:
            if model or overrides or repeats != 1 or no_cache:
                fail(
                    "--resume continues a run with its own models, parameters, repeats and "
                    "cache setting; drop --model, --param, --repeats and --no-cache",
                    2,
                )
            previous = _resolve_run(repo, resume)
            if judge is not None and judge != previous.judge_model:
                fail(
                    f"run {previous.run_id} was judged by {previous.judge_model!r}; drop --judge", 2
                )
            found = suite_or_exit(suite or previous.suite_name)
            try:
                check_resumable(previous, found, loaded)
            except ZonegateError as exc:
                fail(exc.message, 2)
            plan = _Plan(found, scorers_or_exit(found), [previous.requested_model], previous)
            options = RunOptions(
                concurrency=concurrency,
                retry=options.retry,
                judge_model=previous.judge_model,
                team=previous.team,
            )
        else:
            if suite is None:
                fail("name a suite to run (a path or a suite name), or give --resume RUN_ID", 2)
            found = suite_or_exit(suite)
            models = list(model or ([found.route] if found.route else []))
            if not models:
                fail(f"suite {found.name!r} names no route: say which model with --model", 2)
            _check_targets(loaded, models, "--model")
            _check_targets(loaded, [judge], "--judge")
            plan = _Plan(found, scorers_or_exit(found), models, None)
        runs = _execute(db, loaded, options, plan, overrides, repeats, not no_cache)
        if as_json:
            print_json([_brief(r) for r in runs])
        else:
            summary_table(runs, Console())


@dataclass(frozen=True, slots=True)
class _Plan:
    """The suite, its scorers and the models to run (or the run to resume)."""

    suite: Suite
    scorers: list[Scorer]
    models: list[str]
    resume: RunInfo | None


def _check_targets(loaded: LoadedConfig, names: Sequence[str | None], option: str) -> None:
    """Fail before starting anything when a name is neither a route nor a model id."""
    config = loaded.config
    for name in names:
        if name is not None and name not in config.routes and name not in config.models:
            known = ", ".join([*config.routes, *config.models]) or "none"
            fail(
                f"{option} {name!r} is neither a route nor a model of {loaded.source} "
                f"(known: {known})",
                2,
            )


def _execute(
    db: Database,
    loaded: LoadedConfig,
    options: RunOptions,
    plan: _Plan,
    overrides: dict[str, Any],
    repeats: int,
    use_cache: bool,
) -> list[RunInfo]:
    bar = RunBar(stderr)

    async def go() -> list[RunInfo]:
        done: list[RunInfo] = []
        async with open_gateway(loaded, db, team=options.team) as client:
            runner = EvalRunner(EvalRepository(db), client, loaded, options=options, progress=bar)
            if plan.resume is not None:
                return [await runner.resume(plan.resume, plan.suite, plan.scorers)]
            for model in plan.models:
                done.append(
                    await runner.run(
                        plan.suite,
                        plan.scorers,
                        model,
                        overrides=overrides,
                        repeats=repeats,
                        use_cache=use_cache,
                    )
                )
        return done

    def interrupted() -> NoReturn:
        current = bar.current
        if current is None:
            fail("interrupted before any run started", INTERRUPTED)
        fail(
            f"interrupted: run {current.run_id} keeps what it finished; complete it with "
            f"`zonegate eval run --resume {current.run_id}`",
            INTERRUPTED,
        )

    return run_in_gateway(bar, go, interrupted)


def _resolve_run(repo: EvalRepository, ref: str) -> RunInfo:
    try:
        return repo.resolve(ref)
    except ZonegateError as exc:
        fail(exc.message, 2)


def _brief(run: RunInfo) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "suite": run.suite_name,
        "suite_version": run.suite_version,
        "model": run.requested_model,
        "served_models": list(run.served_models),
        "status": run.status,
        "summary": run.summary,
    }


def runs(
    suite: Annotated[
        str | None, typer.Option("--suite", help="Only runs of this suite (by name).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest runs to list.")] = 50,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluation runs, newest first."""
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        found = EvalRepository(db).list_runs(suite=suite, limit=limit)
    if as_json:
        print_json([{**_brief(r), "created_at": r.created_at.isoformat()} for r in found])
        return
    if not found:
        stderr.print("No evaluation runs yet: start one with `zonegate eval run SUITE`.")
        return
    runs_table(found, Console())


def show(
    run_id: Annotated[str, typer.Argument(help="A run id, or its first 8 or more characters.")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: its suite, model, parameters, numbers and every attempt (--json: the document)."""
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        repo = EvalRepository(db)
        found = _resolve_run(repo, run_id)
        document = build_document(found, repo.results(found.run_id))
    if as_json:
        print_json(document)
    else:
        show_document(document, Console())
