"""``zonegate promote | rollback | routes``: change which model a route prefers, on evidence.

``promote ROUTE MODEL`` puts MODEL first on ROUTE only when the route's gate passes on the
stored runs (``zonegate eval compare --route ROUTE --candidate MODEL`` shows the same verdict).
MODEL must already be one of the route's candidates: a promotion changes the order the policy
tries them in, never which models it may use. ``--override`` bypasses a failing gate; it needs
``--reason`` and an admin API key (``--admin-key`` or ``ZONEGATE_ADMIN_KEY``; create one with
``zonegate keys create --role admin``), and the change is recorded as an override under that
key's principal. ``rollback ROUTE`` restores the state the promotion in effect replaced.

Every change is a row in ``route_changes`` plus an admin audit event (before/after, the run
ids), committed together. Running gateways pick a change up within a few seconds
(``zonegate.gateway.route_state``), without a restart.
"""

from __future__ import annotations

from typing import Annotated

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
from zonegate.cli.gate_view import render_verdict, route_order, serving_model
from zonegate.config.load import LoadedConfig
from zonegate.config.schema import RouteConfig
from zonegate.errors import ZonegateError
from zonegate.evals.gate import GateSettings, Verdict, evaluate_gate
from zonegate.gateway.route_state import ROUTE_STATE_TTL_SECONDS
from zonegate.store.db import Database
from zonegate.store.eval_repo import EvalRepository
from zonegate.store.keys import KeyRepository
from zonegate.store.route_repo import Evidence, RouteChange, RouteRepository

REFUSED = 1
USAGE = 2
DEFAULT_ACTOR = "cli"

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor", help="Who makes the change, as recorded (default 'cli').", show_default=False
    ),
]


def promote(
    route: Annotated[str, typer.Argument(help="A route of the config.")],
    model: Annotated[str, typer.Argument(help="One of the route's candidates.")],
    override: Annotated[
        bool,
        typer.Option(
            "--override", help="Promote although the gate does not pass (admin key, --reason)."
        ),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why; required with --override.", show_default=False),
    ] = None,
    admin_key: Annotated[
        str | None,
        typer.Option(
            "--admin-key",
            envvar="ZONEGATE_ADMIN_KEY",
            help="An admin API key; required with --override (its principal is recorded).",
            show_default=False,
        ),
    ] = None,
    actor: ActorOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put MODEL first on ROUTE when the route's gate passes on the stored evidence."""
    loaded = load(config)
    route_config = _route(loaded, route)
    if model not in route_config.candidates:
        fail(
            f"{model!r} is not a candidate of route {route!r} ({', '.join(route_config.candidates)}"
            f"); a promotion only reorders the candidates the config permits: add it to "
            f"routes.{route}.candidates first",
            USAGE,
        )
    if override and not (reason and reason.strip()):
        fail("--override needs --reason: say why the gate is bypassed", USAGE)
    if override and actor is not None:
        fail("--override records the admin key's principal; drop --actor", USAGE)
    with open_database(data_dir, loaded) as db:
        routes = RouteRepository(db)
        current = routes.current(route)
        serving = serving_model(route_config, current)
        if model == serving:
            fail(f"{model!r} is already first on route {route!r}; nothing to change", USAGE)
        who = _admin(db, admin_key) if override else (actor or DEFAULT_ACTOR)
        verdict, problem = _judge(db, route, route_config, model, serving)
        if verdict is not None and not as_json:
            render_verdict(verdict, Console(stderr=True))
        passed = verdict is not None and verdict.passed
        if not passed and not override:
            fail(f"promotion refused: {_why(problem, verdict)}", REFUSED)
        if passed and override:
            stderr.print("The gate passes: recording a plain promotion, not an override.")
        evidence = Evidence()
        if verdict is not None:
            candidate_run, incumbent_run = verdict.run_ids
            evidence = Evidence(candidate_run, incumbent_run, verdict.to_json())
        try:
            change = routes.promote(
                route,
                model,
                actor=who,
                evidence=evidence,
                override=not passed,
                reason=reason,
                based_on=0 if current is None else current.version,
            )
        except ZonegateError as exc:
            fail(exc.message, REFUSED)
    if as_json:
        print_json(change.public())
    what = "Overrode the gate and promoted" if change.override else "Promoted"
    stderr.print(
        f"{what} {model!r} on route {route!r} (promotion {change.change_id}, evidence runs "
        f"{', '.join(change.run_ids) or 'none'}). Running gateways serve it first within "
        f"{ROUTE_STATE_TTL_SECONDS:g} s; undo with `zonegate rollback {route}`.",
        highlight=False,
        markup=False,
    )


def rollback(
    route: Annotated[str, typer.Argument(help="A route of the config.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (recorded).", show_default=False)
    ] = None,
    actor: ActorOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Undo the promotion in effect on ROUTE: the state before it (or the config's order)."""
    loaded = load(config)
    route_config = _route(loaded, route)
    with open_database(data_dir, loaded) as db:
        try:
            change = RouteRepository(db).rollback(
                route, actor=actor or DEFAULT_ACTOR, reason=reason
            )
        except ZonegateError as exc:
            fail(exc.message, REFUSED)
    if as_json:
        print_json(change.public())
    order = route_order(route_config, change)
    if change.model is None:
        now = f"serves in its configured order ({', '.join(order)})"
    elif change.model in route_config.candidates:
        now = f"has {change.model!r} first again (promotion {change.promotion_id})"
    else:
        now = (
            f"returns to promotion {change.promotion_id} of {change.model!r}, which the config no "
            f"longer lists, so it serves in its configured order ({', '.join(order)})"
        )
    stderr.print(
        f"Rolled back route {route!r}: it {now}. Running gateways follow within "
        f"{ROUTE_STATE_TTL_SECONDS:g} s.",
        highlight=False,
        markup=False,
    )


def routes(
    route: Annotated[
        str | None,
        typer.Argument(help="Show this route's history of changes.", show_default=False),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Each route's order now and the promotion behind it; with ROUTE, its changes."""
    loaded = load(config)
    if route is not None:
        _route(loaded, route)
    with open_database(data_dir, loaded) as db:
        repo = RouteRepository(db)
        if route is not None:
            _history(repo.history(route), as_json)
            return
        current = repo.current_all()
    if as_json:
        print_json(
            [
                {
                    "route": name,
                    "order": route_order(rc, current.get(name)),
                    "configured": list(rc.candidates),
                    "promotion_id": _promotion(rc, current.get(name)),
                    "last_change": _public(current.get(name)),
                    "gate": None if rc.gate is None else rc.gate.suite,
                }
                for name, rc in loaded.config.routes.items()
            ]
        )
        return
    table = Table("route", "order now", "promotion", "last change", "gate suite")
    for name, rc in loaded.config.routes.items():
        change = current.get(name)
        table.add_row(
            escape(name),
            escape(", ".join(route_order(rc, change))),
            _promotion(rc, change) or "-",
            "-" if change is None else escape(_brief(change)),
            escape("-" if rc.gate is None else rc.gate.suite),
        )
    _print(table)


def _promotion(route: RouteConfig, change: RouteChange | None) -> str | None:
    """The promotion the gateway applies: none when its model is no longer a candidate."""
    if change is None or change.model not in route.candidates:
        return None
    return change.promotion_id


def _public(change: RouteChange | None) -> dict[str, object] | None:
    return None if change is None else change.public()


def _route(loaded: LoadedConfig, name: str) -> RouteConfig:
    found = loaded.config.routes.get(name)
    if found is None:
        known = ", ".join(sorted(loaded.config.routes)) or "none"
        fail(f"unknown route {name!r}: {loaded.source} defines {known}", USAGE)
    return found


def _admin(db: Database, key: str | None) -> str:
    """The principal of a valid, unrevoked admin key: who an override is recorded under."""
    if not key:
        fail(
            "--override needs an admin API key: pass --admin-key or set ZONEGATE_ADMIN_KEY "
            "(create one with `zonegate keys create --principal NAME --role admin`)",
            USAGE,
        )
    info = KeyRepository(db).verify(key.strip())
    if info is None:
        fail("the admin key is not valid or was revoked", REFUSED)
    if info.role != "admin":
        fail(
            f"the key of principal {info.principal!r} has role {info.role!r}; an override needs "
            "an admin key",
            REFUSED,
        )
    return f"{info.principal} (key {info.key_id})"


def _judge(
    db: Database, route: str, route_config: RouteConfig, model: str, serving: str
) -> tuple[Verdict | None, str | None]:
    """The gate's verdict, or why there is none (no gate, no or mixed evidence)."""
    gate = route_config.gate
    if gate is None:
        return None, (
            f"route {route!r} has no gate, so no evidence can pass it; add routes.{route}.gate "
            "(suite, margin, ...) to the config, or use --override with --reason"
        )
    incumbent = gate.incumbent or serving
    try:
        verdict = evaluate_gate(
            EvalRepository(db), GateSettings.from_config(gate), model, incumbent
        )
    except ZonegateError as exc:
        return None, exc.message
    return verdict, None


def _why(problem: str | None, verdict: Verdict | None) -> str:
    if verdict is None:
        return problem or "no verdict"
    return "the gate does not pass: " + "; ".join(f"{c.name}: {c.detail}" for c in verdict.failures)


def _brief(change: RouteChange) -> str:
    when = change.created_at.isoformat()[:16].replace("T", " ")
    return f"{change.action} by {change.actor} at {when}"


def _history(changes: list[RouteChange], as_json: bool) -> None:
    if as_json:
        print_json([c.public() for c in changes])
        return
    if not changes:
        stderr.print("No changes: the route serves in its configured order.")
        return
    table = Table("#", "at", "action", "model", "promotion", "runs", "actor", "reason")
    for c in changes:
        table.add_row(
            str(c.version),
            c.created_at.isoformat()[:19].replace("T", " "),
            c.action,
            escape(c.model or "(config order)"),
            c.promotion_id or "-",
            "\n".join(c.run_ids) or "-",
            escape(c.actor),
            escape(c.reason or ""),
        )
    _print(table)


def _print(table: Table) -> None:
    console = Console()
    (console if console.is_terminal else Console(width=220)).print(table)
