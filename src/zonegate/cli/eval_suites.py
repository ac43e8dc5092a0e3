"""``zonegate eval suites`` and ``eval export-suite``: the suites found, with their versions, and
a suite as portable JSONL."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zonegate.cli.common import JsonOption, print_json, stderr
from zonegate.errors import ConfigError, ConfigProblem
from zonegate.evals.suite import (
    EXAMPLES_DIR,
    export_text,
    load_suite,
    resolve_suite,
    short_version,
    suite_paths,
)
from zonegate.evals.types import Suite

PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Suites, or directories of suites (default: the shipped examples and ./suites).",
        show_default=False,
    ),
]


def suites(paths: PathsArgument = None, as_json: JsonOption = False) -> None:
    """List suites: name, version, items, scorers, route and path. Every suite that does not
    load is reported with its problems (file and line), and the exit code is then 2."""
    rows: list[dict[str, Any]] = []
    problems: list[ConfigProblem] = []
    for path in suite_paths(paths or ()):
        if not path.exists():
            problems.append(ConfigProblem("no such file or directory", source=str(path)))
            continue
        try:
            rows.append(_row(path, load_suite(path)))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if as_json:
        print_json(rows)
    elif rows:
        table = Table()
        table.add_column("name", no_wrap=True)
        table.add_column("version", no_wrap=True, min_width=12)
        table.add_column("items", justify="right")
        table.add_column("scorers")
        table.add_column("route")
        table.add_column("path", overflow="fold")
        for r in rows:
            table.add_row(
                r["name"],
                short_version(r["version"]),
                str(r["items"]),
                ", ".join(r["scorers"]),
                r["route"] or "-",
                _shown(Path(r["path"])),
            )
        if any(_shipped(Path(r["path"])) for r in rows):
            table.caption = f"examples/ is {EXAMPLES_DIR}"
        Console().print(table)
    elif not problems:
        stderr.print("no suites found", highlight=False, soft_wrap=True)
    for problem in problems:
        stderr.print(str(problem), highlight=False, markup=False, soft_wrap=True)
    if problems:
        raise typer.Exit(2)


def _shipped(path: Path) -> bool:
    return path.resolve().is_relative_to(EXAMPLES_DIR)


def _shown(path: Path) -> str:
    """Shipped examples as ``examples/<name>`` (their directory is the caption), others as
    given."""
    if _shipped(path):
        return str(Path("examples") / path.resolve().relative_to(EXAMPLES_DIR))
    return str(path)


def _row(path: Path, suite: Suite) -> dict[str, Any]:
    return {
        "name": suite.name,
        "description": suite.description,
        "version": suite.version,
        "items": len(suite.items),
        "scorers": [s.name for s in suite.scorers],
        "route": suite.route,
        "tags": list(suite.tags),
        "parameters": dict(suite.parameters),
        "path": str(path),
    }


def export_suite(
    suite: Annotated[str, typer.Argument(help="A suite name, or the path of a suite.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (default: standard output).", show_default=False
        ),
    ] = None,
) -> None:
    """Write a suite as portable JSONL (a header line, then one chat-formatted item per line).

    The file is itself a suite: `zonegate eval run FILE` and `eval suites FILE` read it, with the
    same version; other tools read its items as ordinary chat JSONL."""
    try:
        loaded = resolve_suite(suite)
    except ConfigError as exc:
        for problem in exc.problems:
            stderr.print(f"[red]{problem}[/red]")
        raise typer.Exit(2) from exc
    text = export_text(loaded)
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    stderr.print(
        f"wrote {output}: suite {loaded.name} {short_version(loaded.version)}, "
        f"{len(loaded.items)} items"
    )
