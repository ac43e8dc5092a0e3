"""Where zonegate keeps its state: the data directory and the database URL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DATA_DIR_ENV = "ZONEGATE_DATA_DIR"
DATABASE_URL_ENV = "ZONEGATE_DATABASE_URL"
DATABASE_FILENAME = "zonegate.db"


def resolve_data_dir(
    override: Path | None, *, env: Mapping[str, str] | None = None, create: bool = True
) -> Path:
    """The data directory, as an absolute path, created (mode 0700) unless ``create`` is False.

    Order: ``override`` (``--data-dir``), ``$ZONEGATE_DATA_DIR``, ``$XDG_DATA_HOME/zonegate``
    (only when that is an absolute path, as the XDG spec says), ``~/.local/share/zonegate``.
    """
    env = os.environ if env is None else env
    if override is not None:
        directory = override
    elif env.get(DATA_DIR_ENV):
        directory = Path(env[DATA_DIR_ENV])
    elif env.get("XDG_DATA_HOME") and Path(env["XDG_DATA_HOME"]).is_absolute():
        directory = Path(env["XDG_DATA_HOME"]) / "zonegate"
    else:
        directory = Path.home() / ".local" / "share" / "zonegate"
    directory = directory.expanduser().absolute()
    if create:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def database_url(data_dir: Path, *, env: Mapping[str, str] | None = None) -> str:
    """``$ZONEGATE_DATABASE_URL`` when set, else the SQLite file in ``data_dir``."""
    env = os.environ if env is None else env
    url = env.get(DATABASE_URL_ENV)
    if url:
        return url
    return f"sqlite:///{data_dir.expanduser().absolute() / DATABASE_FILENAME}"
