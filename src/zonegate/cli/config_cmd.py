"""``zonegate config``: check a config file, print its JSON Schema, show the effective config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from zonegate.cli.common import DataDirOption
from zonegate.config.load import LoadedConfig, load_config
from zonegate.config.schema import Config
from zonegate.errors import ConfigError, ConfigProblem

app = typer.Typer(
    help="Check, show and describe the configuration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FileArgument = Annotated[
    Path | None,
    typer.Argument(
        help="Config file (default: --config, then ./zonegate.yaml, then the built-in config).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ZONEGATE_CONFIG",
        help="Config file, when FILE is not given.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command("check")
def check(
    file: FileArgument = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a config: print every problem as file:line: key.path: message, exit 1 if any."""
    try:
        loaded = load_config(file if file is not None else config)
    except ConfigError as exc:
        if as_json:
            _print_json({"ok": False, "problems": [_problem_dict(p) for p in exc.problems]})
        else:
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            count = len(exc.problems)
            typer.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)
        raise typer.Exit(1) from None
    if as_json:
        _print_json({"ok": True, "source": loaded.source, "hash": loaded.hash, "problems": []})
        return
    typer.echo(f"ok: {loaded.source} (config hash {loaded.hash})")
    typer.echo(summary(loaded.config))


@app.command("schema")
def schema(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Print the JSON Schema of the config file, for editors (e.g. the YAML language server).

    The schema is the same whatever config is in use; --config and --data-dir are accepted so
    that every command takes them.
    """
    document: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "zonegate configuration",
    }
    document.update(Config.model_json_schema())
    document["title"] = "zonegate configuration"
    _print_json(document)


@app.command("show")
def show(
    file: FileArgument = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the effective config (interpolated, defaults filled in) and its hash.

    Credentials stay references (env:NAME, file:/path); no secret is read or printed.
    """
    try:
        loaded = load_config(file if file is not None else config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    data = loaded.config.model_dump(mode="json")
    if as_json:
        _print_json({"source": loaded.source, "hash": loaded.hash, "config": data})
        return
    typer.echo(_header(loaded), nl=False)
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def summary(config: Config) -> str:
    """One line: how many classes, zones, models, routes and teams, with their names."""

    def part(noun: str, names: list[str]) -> str:
        plural = noun if len(names) == 1 else noun.replace("class", "classe") + "s"
        listed = f" ({', '.join(names)})" if names else ""
        return f"{len(names)} {plural}{listed}"

    return ", ".join(
        [
            part("data class", list(config.data_classes)),
            part("zone", list(config.zones)),
            part("model", list(config.models)),
            part("route", list(config.routes)),
            part("team", list(config.teams)),
        ]
    )


def _header(loaded: LoadedConfig) -> str:
    return f"# source: {loaded.source}\n# config hash: {loaded.hash}\n"


def _problem_dict(problem: ConfigProblem) -> dict[str, Any]:
    return {
        "source": problem.source,
        "line": problem.line,
        "path": problem.path,
        "message": problem.message,
    }


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=False))
