"""Find, read, interpolate and validate the config; report every problem at once.

Resolution: an explicit path (``--config`` / ``$ZONEGATE_CONFIG``, handled by the CLI option),
else ``./zonegate.yaml`` when it exists, else the built-in config. Every failure, from a YAML
syntax error to a dangling reference, becomes a ``ConfigProblem`` with file, line and key path,
and all of them are raised together in one ``ConfigError``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from zonegate.config.builtin import builtin_config
from zonegate.config.diagnose import validation_problems
from zonegate.config.schema import Config
from zonegate.config.snapshot import config_hash
from zonegate.config.yamlsource import parse_yaml
from zonegate.errors import ConfigError, ConfigProblem

BUILTIN_SOURCE = "<built-in>"
DEFAULT_FILENAME = "zonegate.yaml"


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config, where it came from, and its canonical hash."""

    config: Config
    source: str
    hash: str


def load_config(
    path: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    """Load ``path``, or ``./zonegate.yaml``, or the built-in config; raise ``ConfigError``."""
    if path is None:
        candidate = (cwd if cwd is not None else Path.cwd()) / DEFAULT_FILENAME
        if not candidate.is_file():
            config = builtin_config()
            return LoadedConfig(config, BUILTIN_SOURCE, config_hash(config))
        path = candidate
    return load_config_text(_read(path), source=str(path), env=env)


def load_config_text(
    text: str, *, source: str = "<string>", env: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Validate YAML ``text``; ``source`` names it in problems. ``env`` defaults to os.environ."""
    doc = parse_yaml(text, source=source, env=os.environ if env is None else env)
    problems = list(doc.problems)
    if doc.data is None and not problems:
        problems.append(
            ConfigProblem(
                "the file is empty: a config needs at least 'zones' and 'models' "
                "(see examples/hybrid.yaml, or run 'zonegate config schema')",
                source=source,
                line=1,
            )
        )
    elif doc.data is not None and not isinstance(doc.data, dict):
        problems.append(
            ConfigProblem(
                "the top level must be a mapping of keys (zones, models, routes, ...)",
                source=source,
                line=doc.line_of(()),
            )
        )
    if problems and not isinstance(doc.data, dict):
        raise ConfigError(problems)
    try:
        config = Config.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, doc, source))
        raise ConfigError(_in_file_order(problems)) from None
    if problems:
        raise ConfigError(_in_file_order(problems))
    return LoadedConfig(config, source, config_hash(config))


def check_config(path: Path | None, *, env: Mapping[str, str] | None = None) -> list[ConfigProblem]:
    """Every problem in the config ``path`` resolves to; an empty list when it is valid."""
    try:
        load_config(path, env=env)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        message = "config file not found: check the path (or omit it to use the built-in config)"
    except IsADirectoryError:
        message = "this is a directory: name the YAML file inside it"
    except UnicodeDecodeError as exc:
        message = f"config file is not UTF-8 text (byte {exc.start}): save it as UTF-8"
    except OSError as exc:
        message = f"cannot read config file: {exc.strerror or exc}; check its permissions"
    raise ConfigError([ConfigProblem(message, source=str(path))])


def _in_file_order(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    return sorted(problems, key=lambda p: p.line if p.line is not None else 0)
