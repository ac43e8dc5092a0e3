"""``zonegate keys``: create, list and revoke API keys.

``keys create`` prints the key alone on stdout (so ``KEY=$(zonegate keys create ...)`` works) and
everything meant for a person on stderr. The key is shown once; only its hash is stored.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

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
from zonegate.errors import ZonegateError
from zonegate.store.keys import ROLES, KeyInfo, KeyRepository

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@app.command("create")
def create(
    principal: Annotated[
        str, typer.Option("--principal", "-p", help="Who the key is for, e.g. svc-helpdesk.")
    ],
    team: Annotated[
        str, typer.Option("--team", "-t", help="A team defined in the config.")
    ] = "default",
    role: Annotated[str, typer.Option("--role", help="'user' or 'admin'.")] = "user",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it once, alone on stdout (with --json: the key and its details)."""
    loaded = load(config)
    teams = loaded.config.teams
    if team not in teams:
        known = ", ".join(sorted(teams)) or "none"
        fail(
            f"unknown team {team!r}: {loaded.source} defines {known}; add the team under "
            "'teams:' or pass one of those with --team",
            2,
        )
    if role not in ROLES:
        fail(f"unknown role {role!r}: use --role {' or --role '.join(ROLES)}", 2)
    with open_database(data_dir, loaded) as db:
        try:
            created = KeyRepository(db).create(principal, team=team, role=role, actor="cli")
        except ZonegateError as exc:
            fail(exc.message, 2)
    if as_json:
        print_json({**created.info.public(), "key": created.secret})
    else:
        sys.stdout.write(created.secret + "\n")
        sys.stdout.flush()
    stderr.print(
        f"Created {role} key {created.key_id} for principal {principal!r} (team {team!r}). "
        "This is the only time the key is shown: store it now.",
        highlight=False,
        markup=False,
    )


@app.command("list")
def list_keys(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every key with its principal, team, role and state (never the secret)."""
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        keys = KeyRepository(db).list()
    if as_json:
        print_json([k.public() for k in keys])
        return
    if not keys:
        stderr.print("No API keys yet: create one with `zonegate keys create --principal NAME`.")
        return
    table = Table("principal", "team", "role", "created", "state")
    table.columns.insert(0, Column("key id", no_wrap=True, min_width=32))
    for k in keys:
        table.add_row(
            k.key_id, k.principal, k.team, k.role, _when(k.created_at.isoformat()), _state(k)
        )
    console = Console()
    (console if console.is_terminal else Console(width=200)).print(table)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (see `zonegate keys list`).")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a key: requests with it are refused from then on."""
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        try:
            repo = KeyRepository(db)
            existing = repo.get(key_id)
            info = repo.revoke(key_id, actor="cli")
        except ZonegateError as exc:
            fail(exc.message)
    if as_json:
        print_json(info.public())
    already = existing is not None and not existing.active
    stderr.print(
        f"Key {info.key_id} (principal {info.principal!r}) "
        + ("was already revoked." if already else "is revoked."),
        highlight=False,
        markup=False,
    )


def _when(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _state(info: KeyInfo) -> str:
    if info.revoked_at is None:
        return "active"
    return f"revoked {_when(info.revoked_at.isoformat())}"
