"""Set-up and error exits shared by the commands that run suites through an in-process gateway.

``eval run`` and ``drift run`` load a suite, build its scorers and start the gateway the same
way; the exit codes and messages for each failure must not drift apart between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from zonegate.cli.common import fail, stderr
from zonegate.cli.eval_view import RunBar
from zonegate.config.credentials import CredentialError
from zonegate.errors import ConfigError, ZonegateError
from zonegate.evals.scorers.registry import build_scorers
from zonegate.evals.suite import resolve_suite
from zonegate.evals.types import Scorer, Suite
from zonegate.guards.injection import ModelFileError
from zonegate.providers.base import ProviderStartError

USAGE = 2
INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl-C

T = TypeVar("T")

# Options of every command that runs suites; defaults stay at each command's parameter.
JudgeOption = Annotated[
    str | None,
    typer.Option(help="Route or model id that judge scorers (model_graded) ask."),
]
TeamOption = Annotated[str, typer.Option(help="Team of the evaluation key (principal 'eval').")]
ConcurrencyOption = Annotated[int, typer.Option(min=1, help="Requests in flight at once.")]
RetriesOption = Annotated[
    int, typer.Option(min=0, help="Retries per attempt on 429, 5xx and timeouts.")
]
TimeoutOption = Annotated[float, typer.Option(min=0.001, help="Seconds one request may take.")]


def config_problems(exc: ConfigError) -> NoReturn:
    """Print every problem of a config or suite error (not just the first) and exit 2."""
    for problem in exc.problems:
        stderr.print(str(problem), highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(USAGE)


def suite_or_exit(ref: str) -> Suite:
    """The suite ``ref`` names, or its problems printed and exit 2."""
    try:
        return resolve_suite(ref)
    except ConfigError as exc:
        config_problems(exc)


def scorers_or_exit(suite: Suite) -> list[Scorer]:
    """The suite's scorers, or their problems printed and exit 2."""
    try:
        return build_scorers(suite)
    except ConfigError as exc:
        config_problems(exc)


def run_in_gateway(
    bar: RunBar,
    job: Callable[[], Coroutine[Any, Any, T]],
    interrupted: Callable[[], NoReturn],
) -> T:
    """Run ``job`` under the progress bar; turn start-up, usage and config failures into exits.

    ``interrupted`` is called on Ctrl-C, after the bar has closed, so it can say what was kept.
    """
    try:
        with bar:
            return asyncio.run(job())
    except KeyboardInterrupt:
        interrupted()
    except ZonegateError as exc:
        fail(exc.message, USAGE)
    except (ProviderStartError, CredentialError, ModelFileError) as exc:
        fail(f"cannot start the gateway: {exc}")
    except ConfigError as exc:
        config_problems(exc)
