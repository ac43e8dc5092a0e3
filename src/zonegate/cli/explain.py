"""``zonegate explain``: what the policy would do with a request, and why. Sends nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

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
    print_json,
    stderr,
)
from zonegate.errors import ConfigError, ZonegateError
from zonegate.guards.injection import InjectionScorer
from zonegate.guards.registry import load_detectors
from zonegate.policy.classes import UnknownDataClass
from zonegate.policy.explain import Explanation, explain_request, injection_lines, to_json
from zonegate.policy.types import Allow, CandidateVerdict
from zonegate.wire.labels import DATA_CLASS_KEYS, PURPOSE_KEYS, from_metadata


def _read_request(file: Path) -> dict[str, Any]:
    try:
        raw = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text; save the request body as UTF-8 JSON")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"{file} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}")
    if not isinstance(body, dict):
        fail(f"{file} must hold a JSON object: an OpenAI chat-completions request body")
    return body


def explain(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="An OpenAI chat-completions request body (JSON; '-' reads stdin). Its 'model' "
            "is the route unless --route is given.",
            show_default=False,
        ),
    ] = None,
    route: Annotated[
        str | None,
        typer.Option(
            "--route",
            "-r",
            help="Route or model id to decide for (required with --text).",
            show_default=False,
        ),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option(
            "--text", "-t", help="Inline text to classify instead of a FILE.", show_default=False
        ),
    ] = None,
    team: Annotated[str, typer.Option("--team", help="The caller's team.")] = "default",
    data_class: Annotated[
        str | None,
        typer.Option(
            "--data-class",
            help="Declared data class (as the X-Zonegate-Data-Class header would set it; "
            "default: the request's metadata).",
            show_default=False,
        ),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option(
            "--purpose",
            help="Declared purpose (as X-Zonegate-Purpose; default: the request's metadata).",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Explain many requests in one process: a JSONL file of request bodies ('-' "
            "reads stdin); prints one JSON line per input.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,  # accepted like every command; explain keeps no state
    as_json: JsonOption = False,
) -> None:
    """Show a request's classification, each route candidate kept or dropped, and the decision."""
    if batch is not None:
        if file is not None or text is not None:
            fail("--file explains a JSONL file on its own: give no FILE and no --text with it")
        _explain_batch(batch, config, route, team, data_class, purpose)
        return
    if (file is None) == (text is None):
        fail("give the request either as a FILE (an OpenAI request body) or with --text, not both")
    request: str | dict[str, Any]
    if text is not None:
        if route is None:
            fail("--route is required with --text (name the route or model id to decide for)")
        request = text
    else:
        assert file is not None
        request = _read_request(file)
        data_class = data_class or from_metadata(request.get("metadata"), DATA_CLASS_KEYS)
        purpose = purpose or from_metadata(request.get("metadata"), PURPOSE_KEYS)
        if route is None:
            model = request.get("model")
            if not isinstance(model, str) or not model:
                fail(f"{file} has no 'model' string; pass the route with --route")
            route = model
    loaded = load(config)
    try:
        detectors = load_detectors(loaded.config)
        explanation = explain_request(
            loaded.config,
            request,
            route=route,
            team=team,
            declared_class=data_class,
            purpose=purpose,
            detectors=detectors,
            injection=InjectionScorer.load(),
        )
    except ConfigError as exc:
        for problem in exc.problems:
            stderr.print(str(problem), highlight=False, markup=False)
        raise typer.Exit(2) from None
    except UnknownDataClass as exc:
        fail(f"--data-class: {exc}")
    except ZonegateError as exc:
        fail(exc.message)
    if as_json:
        print_json(to_json(explanation))
    else:
        _print(explanation)


def _explain_batch(
    batch: Path,
    config: Path | None,
    route: str | None,
    team: str,
    data_class: str | None,
    purpose: str | None,
) -> None:
    """One JSON line per input line; an input that cannot be explained gets an 'error' line,
    and the command then exits 1, so batch checks can gate on it."""
    loaded = load(config)
    try:
        detectors = load_detectors(loaded.config)
    except ConfigError as exc:
        for problem in exc.problems:
            stderr.print(str(problem), highlight=False, markup=False)
        raise typer.Exit(2) from None
    scorer = InjectionScorer.load()
    try:
        lines = (
            sys.stdin.readlines()
            if str(batch) == "-"
            else batch.read_text(encoding="utf-8").splitlines()
        )
    except OSError as exc:
        fail(f"cannot read {batch}: {exc.strerror or exc}")
    failed = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
            if not isinstance(body, dict):
                raise ValueError("each line must be a JSON object (a chat-completions request)")
            metadata = body.get("metadata")
            target = route or body.get("model")
            if not isinstance(target, str) or not target:
                raise ValueError("no 'model' string in the request; pass the route with --route")
            explanation = explain_request(
                loaded.config,
                body,
                route=target,
                team=team,
                declared_class=data_class or from_metadata(metadata, DATA_CLASS_KEYS),
                purpose=purpose or from_metadata(metadata, PURPOSE_KEYS),
                detectors=detectors,
                injection=scorer,
            )
        except (ValueError, UnknownDataClass, ZonegateError) as exc:
            failed += 1
            if isinstance(exc, json.JSONDecodeError):
                message = f"not valid JSON: {exc.msg} (column {exc.colno})"
            else:
                message = exc.message if isinstance(exc, ZonegateError) else str(exc)
            print_json_line({"line": number, "error": message})
            continue
        print_json_line({"line": number, **to_json(explanation)})
    if failed:
        raise typer.Exit(1)


def print_json_line(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value, sort_keys=True, default=str) + "\n")


def _print(e: Explanation) -> None:
    out = Console()
    out.print(
        f"route [bold]{escape(e.route)}[/]  team [bold]{escape(e.team)}[/]  "
        f"purpose {escape(e.purpose or '-')}",
        highlight=False,
    )
    classes = Table(title="classification", title_justify="left")
    for column in ("type", "data class", "count", escape("where (text [start:end])")):
        classes.add_column(column)
    for f in e.findings:
        where = ", ".join(f"{t} [{s}:{n}]" for t, s, n in f.spans)
        classes.add_row(f.type, f.data_class, str(f.count), escape(where))
    classes.add_row("declared", e.declared_class or "-", "", "")
    classes.add_row("detected", e.detected_class or "-", "", f"{e.texts_scanned} texts scanned")
    classes.add_row("[bold]effective[/]", f"[bold]{e.effective_class}[/]", "", "")
    out.print(classes)
    for line in injection_lines(e.injection):
        out.print(escape(line), highlight=False)
    if e.candidates:
        title = "candidates" if e.candidates_reached else "candidates (not reached)"
        table = Table(title=title, title_justify="left")
        for column in ("#", "model", "zone", "verdict", "why"):
            table.add_column(column, overflow="fold")
        for i, c in enumerate(e.candidates, 1):
            kept = c.verdict is CandidateVerdict.KEPT
            verdict = "[green]kept[/]" if kept else f"[red]dropped[/] ({c.verdict})"
            table.add_row(str(i), c.model_id, c.zone, verdict, escape(c.detail))
        out.print(table)
    d = e.decision
    if isinstance(d, Allow):
        fallbacks = ", ".join(d.fallbacks) or "none"
        out.print(f"[green bold]allow[/] {d.model_id} (fallbacks: {fallbacks})", highlight=False)
    else:
        out.print(f"[red bold]deny[/] {d.reason}: {escape(d.message)}", highlight=False)
