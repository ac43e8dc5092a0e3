"""Options and set-up shared by every command: config, data directory, database, output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from zonegate.config.load import LoadedConfig, load_config
from zonegate.config.paths import database_url, resolve_data_dir
from zonegate.errors import ConfigError
from zonegate.store.db import Database, describe_error

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ZONEGATE_CONFIG",
        help="Config file (default: ./zonegate.yaml if present, else the built-in config).",
        show_default=False,
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="ZONEGATE_DATA_DIR",
        help="Where state lives (SQLite file). Default: a per-user data directory.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

stderr = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def load(config_path: Path | None) -> LoadedConfig:
    """Load and validate the config, or print every problem and exit 2."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            stderr.print(str(problem), highlight=False, markup=False)
        raise typer.Exit(2) from None


@contextmanager
def open_database(data_dir: Path | None, loaded: LoadedConfig) -> Iterator[Database]:
    """The state database, migrated to the current schema, closed on exit; exit 1 if unreachable."""
    url = database_url(resolve_data_dir(data_dir))
    db = Database(url, sqlite_synchronous=loaded.config.audit.sqlite_synchronous)
    try:
        try:
            db.migrate()
        except Exception as exc:  # unreachable server, unwritable file, failed migration
            fail(f"cannot open the state database ({db!r}): {describe_error(exc)}")
        yield db
    finally:
        db.dispose()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, sort_keys=True) + "\n")
