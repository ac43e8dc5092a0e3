"""``zonegate models``: the configured models, their zones, ceilings and state."""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from zonegate.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    load,
    print_json,
    stderr,
)
from zonegate.config.credentials import CredentialError, resolve_secret
from zonegate.config.schema import (
    BUILTIN_MODEL_SHA256,
    Config,
    LlamaCppProviderConfig,
    ModelConfig,
)
from zonegate.providers.base import ProviderStartError
from zonegate.providers.digest import resolve_model_path, sha256_file

app = typer.Typer(help="Inspect the configured models.", no_args_is_help=True)


@app.command("list")
def list_models(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Hash open-weight files against their pinned digest.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Each model with its zone, ceiling, upstream and state."""
    loaded = load(config)
    rows = [
        _describe(loaded.config, mid, m, verify=verify) for mid, m in loaded.config.models.items()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("model", "zone", "ceiling", "region", "provider", "upstream", "state")
    for r in rows:
        table.add_row(
            r["model"],
            r["zone"],
            r["ceiling"],
            r["region"] or "-",
            r["provider"],
            r["upstream"],
            r["state"],
        )
    Console().print(table)


def _describe(config: Config, model_id: str, model: ModelConfig, *, verify: bool) -> dict[str, Any]:
    zone = config.zones[model.zone]
    provider = model.provider
    row: dict[str, Any] = {
        "model": model_id,
        "zone": model.zone,
        "ceiling": zone.ceiling,
        "region": zone.region,
        "operator": zone.operator,
        "provider": provider.type,
        "version": model.version,
    }
    if isinstance(provider, LlamaCppProviderConfig):
        row["upstream"] = provider.model_path
        expected = provider.sha256 or BUILTIN_MODEL_SHA256
        row["sha256"] = expected
        row["state"] = _weights_state(provider.model_path, expected, verify=verify)
    else:  # an HTTP upstream
        row["upstream"] = f"{provider.model} @ {provider.base_url}"
        row["state"] = _credential_state(provider.api_key)
    return row


@app.command("status")
def status(
    url: Annotated[
        str,
        typer.Option(
            "--url", envvar="ZONEGATE_URL", help="The running gateway (its /readyz is read)."
        ),
    ] = "http://127.0.0.1:8000",
    as_json: JsonOption = False,
) -> None:
    """Each model's state in a running gateway: health checks and circuit breakers."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/readyz", timeout=10)
        ready = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        stderr.print(f"[red]cannot read {url}/readyz: {exc}[/red] (is the gateway running there?)")
        raise typer.Exit(2) from exc
    models: dict[str, dict[str, Any]] = ready.get("models", {})
    if as_json:
        print_json(ready)
    else:
        table = Table("model", "status", "circuit", "last check", "check error")
        for model_id, state in models.items():
            check = state.get("health_check") or {}
            checked = check.get("checked_at")
            when = "-" if checked is None else f"{max(0.0, time.time() - checked):.0f} s ago"
            table.add_row(
                model_id, state["status"], state["circuit"], when, check.get("error") or "-"
            )
        Console().print(table)
        Console().print(f"gateway: {ready.get('status')} ({ready.get('checks')})")
    if any(state["status"] != "ok" for state in models.values()):
        raise typer.Exit(1)


def _weights_state(ref: str, expected: str, *, verify: bool) -> str:
    try:
        path = resolve_model_path(ref)
    except ProviderStartError as exc:
        return f"unavailable: {exc}"
    if not path.is_file():
        return f"missing: {path}"
    if not verify:
        return "weights present (use --verify to check the digest)"
    actual = sha256_file(path)
    return "weights verified" if actual == expected else f"DIGEST MISMATCH (actual {actual})"


def _credential_state(ref: str | None) -> str:
    if ref is None:
        return "no credential configured"
    try:
        resolve_secret(ref)
    except CredentialError as exc:
        return f"credential missing: {exc}"
    return "credential available"
