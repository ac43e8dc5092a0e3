"""``zonegate serve``: start the gateway (the embedded local model when no config is given)."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Annotated

import typer
import uvicorn

from zonegate.cli.common import ConfigOption, DataDirOption, fail, load, stderr
from zonegate.config.credentials import CredentialError
from zonegate.config.load import LoadedConfig
from zonegate.config.paths import database_url, resolve_data_dir
from zonegate.errors import ConfigError
from zonegate.gateway.app import app_for
from zonegate.gateway.services import GatewayServices, build_services
from zonegate.guards.injection import ModelFileError
from zonegate.providers.base import ProviderStartError
from zonegate.store.db import Database
from zonegate.store.keys import KeyRepository


def serve(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: server.port).")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request line.")] = False,
) -> None:
    """Start the gateway. Weights are verified before loading; a mismatch refuses to start."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations report only problems
    loaded = load(config)
    directory = resolve_data_dir(data_dir)
    db = Database(
        database_url(directory), sqlite_synchronous=loaded.config.audit.sqlite_synchronous
    )
    db.migrate()
    _ensure_admin_key(db, loaded)
    try:
        services = build_services(loaded, db)
    except ConfigError as exc:
        for problem in exc.problems:
            stderr.print(str(problem), highlight=False, markup=False)
        raise typer.Exit(2) from None
    except (ProviderStartError, CredentialError, ModelFileError) as exc:
        fail(str(exc))
    server_cfg = loaded.config.server
    bind_host, bind_port = host or server_cfg.host, port if port is not None else server_cfg.port
    stderr.print(
        f"zonegate: config {loaded.source} ({loaded.hash[:19]}), state in {directory}, "
        f"models: {', '.join(loaded.config.models)}",
        highlight=False,
    )
    uv = uvicorn.Config(
        app_for(services, manage_services=False),
        host=bind_host,
        port=bind_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level=log_level.lower(),
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_run(services, uvicorn.Server(uv), bind_host, bind_port))


async def _run(services: GatewayServices, server: uvicorn.Server, host: str, port: int) -> None:
    try:
        await services.start()
    except (ProviderStartError, CredentialError) as exc:
        await services.close()
        fail(f"cannot start: {exc}")
    # Everything built so far lives as long as the process: keep it out of the cyclic garbage
    # collector's full passes, which would otherwise stall requests for milliseconds.
    gc.collect()
    gc.freeze()
    try:
        stderr.print(f"zonegate: serving on http://{host}:{port}/v1", highlight=False)
        await server.serve()
    finally:
        await services.close()


def _ensure_admin_key(db: Database, loaded: LoadedConfig) -> None:
    """Create the first admin key on first start and print it, once."""
    keys = KeyRepository(db)
    if keys.has_admin():
        return
    teams = loaded.config.teams
    team = "default" if "default" in teams else next(iter(teams), "default")
    created = keys.create("admin", team=team, role="admin")
    stderr.print(
        "\n[bold]An admin API key was created. It is shown only this once; store it now:[/]\n",
        highlight=False,
    )
    stderr.print(f"    {created.secret}\n", highlight=False, markup=False, soft_wrap=True)
    stderr.print(
        "Use it as the OpenAI API key (Authorization: Bearer ...). Create more with "
        "'zonegate keys create --principal NAME'.\n",
        highlight=False,
    )


def _loop_factory() -> type[asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional on platforms without it
        return None
    return uvloop.Loop
