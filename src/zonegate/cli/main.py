"""The ``zonegate`` root command: each command group lives in its own module."""

from __future__ import annotations

import typer

from zonegate.cli import (
    audit,
    config_cmd,
    drift,
    evals,
    explain,
    keys,
    models,
    promote,
    serve,
)

app = typer.Typer(
    name="zonegate",
    help="An LLM gateway that routes by data sensitivity, fails closed and audits every call.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("explain")(explain.explain)
app.command("promote")(promote.promote)
app.command("rollback")(promote.rollback)
app.command("routes")(promote.routes)
app.add_typer(config_cmd.app, name="config")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(models.app, name="models")
app.add_typer(evals.app, name="eval")
app.add_typer(drift.app, name="drift")
