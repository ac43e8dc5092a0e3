"""``zonegate eval compare``: the gate's verdict on a candidate against an incumbent, with numbers.

It reads stored runs only (run them first with ``zonegate eval run``). With ``--route`` the
suite, incumbent and thresholds come from the route's ``gate``; options given beside it win.
The exit status is 0 when the gate passes and 1 when it does not, so scripts can use it as a
check; 2 means the comparison could not be made (bad options, missing or mixed evidence).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

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
)
from zonegate.cli.gate_view import parse_money, render_verdict, serving_model
from zonegate.config.load import LoadedConfig
from zonegate.errors import ZonegateError
from zonegate.evals.gate import GateSettings, evaluate_gate
from zonegate.store.eval_repo import EvalRepository
from zonegate.store.route_repo import RouteRepository

GATE_FAILED = 1
CANNOT_COMPARE = 2


def compare(
    candidate: Annotated[
        str,
        typer.Option("--candidate", help="Model id hoping to take the route.", show_default=False),
    ],
    suite: Annotated[
        str | None,
        typer.Option("--suite", help="Suite name (default with --route: its gate's suite)."),
    ] = None,
    incumbent: Annotated[
        str | None,
        typer.Option(
            "--incumbent",
            help="Model id compared against (default with --route: the gate's incumbent, else "
            "the model first on the route now).",
        ),
    ] = None,
    route: Annotated[
        str | None,
        typer.Option("--route", help="Take the suite, incumbent and thresholds from its gate."),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option("--margin", help="Largest acceptable rise in failure rate (0.02 = 2 points)."),
    ] = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="One-sided level of the test.")
    ] = None,
    min_items: Annotated[
        int | None, typer.Option("--min-items", help="Fewest paired items a verdict rests on.")
    ] = None,
    latency_p95_ms: Annotated[
        float | None,
        typer.Option("--latency-p95-ms", help="Ceiling on the candidate's p95 latency."),
    ] = None,
    cost_per_1k: Annotated[
        str | None,
        typer.Option("--cost-per-1k", help="Ceiling on the candidate's cost per 1,000 requests."),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare two models' stored runs of one suite and print the gate's verdict.

    Exit status: 0 the gate passes, 1 it does not, 2 no comparison could be made.
    """
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        settings, incumbent_model = _settings(
            loaded, RouteRepository(db), route=route, suite=suite, incumbent=incumbent
        )
        try:
            settings = _overridden(settings, margin, alpha, min_items, latency_p95_ms, cost_per_1k)
            verdict = evaluate_gate(EvalRepository(db), settings, candidate, incumbent_model)
        except ValueError as exc:
            fail(str(exc), CANNOT_COMPARE)
        except ZonegateError as exc:
            fail(exc.message, CANNOT_COMPARE)
    if as_json:
        print_json(verdict.to_json())
    else:
        render_verdict(verdict, Console())
    if not verdict.passed:
        raise typer.Exit(GATE_FAILED)


def _settings(
    loaded: LoadedConfig,
    db_routes: RouteRepository,
    *,
    route: str | None,
    suite: str | None,
    incumbent: str | None,
) -> tuple[GateSettings, str]:
    """Settings and incumbent from the route's gate and the options (options win)."""
    if route is None:
        if suite is None or incumbent is None:
            fail(
                "say what to compare: --suite and --incumbent, or --route ROUTE to take them "
                "from the route's gate",
                CANNOT_COMPARE,
            )
        return GateSettings(suite=suite), incumbent
    routes = loaded.config.routes
    route_config = routes.get(route)
    if route_config is None:
        fail(
            f"unknown route {route!r}: {loaded.source} defines "
            f"{', '.join(sorted(routes)) or 'none'}",
            CANNOT_COMPARE,
        )
    gate = route_config.gate
    if gate is None:
        if suite is None:
            fail(
                f"route {route!r} has no gate; add routes.{route}.gate (suite, margin, ...) to "
                f"{loaded.source} or give --suite",
                CANNOT_COMPARE,
            )
        settings = GateSettings(suite=suite)
    else:
        settings = GateSettings.from_config(gate)
        if suite is not None:
            settings = replace(settings, suite=suite)
    chosen = incumbent or (gate.incumbent if gate is not None else None)
    if chosen is None:
        chosen = serving_model(route_config, db_routes.current(route))
    return settings, chosen


def _overridden(
    settings: GateSettings,
    margin: float | None,
    alpha: float | None,
    min_items: int | None,
    latency_p95_ms: float | None,
    cost_per_1k: str | None,
) -> GateSettings:
    """``settings`` with the options given; ValueError names a bad one."""
    cost = parse_money(cost_per_1k, "--cost-per-1k")
    return replace(
        settings,
        margin=settings.margin if margin is None else margin,
        alpha=settings.alpha if alpha is None else alpha,
        min_items=settings.min_items if min_items is None else min_items,
        latency_p95_ms=settings.latency_p95_ms if latency_p95_ms is None else latency_p95_ms,
        cost_per_1k_requests=settings.cost_per_1k_requests if cost is None else cost,
    )
