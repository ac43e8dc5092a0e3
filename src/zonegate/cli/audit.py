"""``zonegate audit``: verify the hash chains, tail the log, export it as JSON lines."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table
from sqlalchemy.exc import SQLAlchemyError

from zonegate.audit.export import follow_records, iter_records, parse_time
from zonegate.audit.verify import VerifyResult, verify_all
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
from zonegate.store.db import describe_error

app = typer.Typer(help="Verify, tail and export the audit log.", no_args_is_help=True)


@app.command("verify")
def verify(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute every hash; exit 1 naming each tampered record, 0 when both chains are intact."""
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        try:
            results = verify_all(db)
        except SQLAlchemyError as exc:
            fail(f"could not read the audit log: {describe_error(exc)}")
    ok = all(r.ok for r in results.values())
    if as_json:
        print_json({"ok": ok, "chains": {name: _summary(r) for name, r in results.items()}})
    else:
        for name, result in results.items():
            label = "audit records" if name == "audit" else "admin events"
            state = "intact" if result.ok else f"TAMPERED ({result.problem_count} problems)"
            typer.echo(
                f"{label}: {result.checked} checked, {state}; "
                f"head seq {result.last_seq} hash {result.last_hash}"
            )
            for problem in result.problems:
                typer.echo(f"  - {problem.message}")
            hidden = result.problem_count - len(result.problems)
            if hidden:
                typer.echo(f"  ... and {hidden} more")
    if not ok:
        raise typer.Exit(1)


@app.command("tail")
def tail(
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="How many records.")] = 20,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new records as they arrive.")
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The newest records, oldest first (JSON lines with --json)."""
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        try:
            records = list(iter_records(db, limit=lines, order="desc"))[::-1]
            if as_json:
                for record in records:
                    _write_line(sys.stdout, record)
            else:
                _print_table(records)
            if follow:
                after = int(records[-1]["seq"]) if records else 0
                for record in follow_records(db, after_seq=after):
                    if as_json:
                        _write_line(sys.stdout, record)
                    else:
                        _print_table([record], header=False)
        except KeyboardInterrupt:
            pass
        except SQLAlchemyError as exc:
            fail(f"could not read the audit log: {describe_error(exc)}")


@app.command("export")
def export(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Records started at or after: 2026-01-01, 2026-01-01T12:00:00Z, or 24h, 7d.",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Records started before this time (same forms).", show_default=False
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl.")] = "jsonl",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file instead of stdout.", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Every record in a time range, one JSON object per line, in chain order."""
    if fmt != "jsonl":
        fail(f"unknown format {fmt!r}: only 'jsonl' is supported", 2)
    start = _time_option("--since", since)
    end = _time_option("--until", until)
    loaded = load(config)
    with open_database(data_dir, loaded) as db:
        count = 0
        try:
            with ExitStack() as stack:
                out: IO[str] = (
                    stack.enter_context(output.open("w", encoding="utf-8"))
                    if output is not None
                    else sys.stdout
                )
                for record in iter_records(db, since=start, until=end):
                    _write_line(out, record)
                    count += 1
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        except SQLAlchemyError as exc:
            fail(f"could not read the audit log: {describe_error(exc)}")
    where = f" to {output}" if output is not None else ""
    stderr.print(f"exported {count} records{where}", highlight=False, markup=False)


def _time_option(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        fail(f"{name}: {exc}", 2)


def _write_line(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    out.write("\n")
    out.flush()


def _summary(result: VerifyResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "checked": result.checked,
        "problem_count": result.problem_count,
        "head_seq": result.last_seq,
        "head_hash": result.last_hash,
        "problems": [
            {"seq": p.seq, "id": p.request_id, "message": p.message} for p in result.problems
        ],
    }


_COLUMNS = (
    ("seq", "seq"),
    ("started_at", "started (UTC)"),
    ("principal_id", "principal"),
    ("team", "team"),
    ("route", "route"),
    ("model_id", "model"),
    ("zone", "zone"),
    ("effective_class", "class"),
    ("decision", "decision"),
    ("status", "status"),
    ("reason_code", "reason"),
)


def _print_table(records: list[dict[str, Any]], *, header: bool = True) -> None:
    if not records and header:
        stderr.print("The audit log is empty.")
        return
    table = Table(
        *(Column(title, no_wrap=key in ("seq", "started_at")) for key, title in _COLUMNS),
        show_header=header,
    )
    for record in records:
        cells = []
        for key, _ in _COLUMNS:
            value = record.get(key)
            if key == "started_at" and isinstance(value, str):
                value = value[:23].replace("T", " ")
            cells.append("-" if value is None else str(value))
        table.add_row(*cells)
    _console().print(table)


def _console() -> Console:
    """The terminal's width on a terminal; wide enough not to squeeze cells when piped."""
    console = Console()
    return console if console.is_terminal else Console(width=240)
