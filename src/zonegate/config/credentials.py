"""Resolve credential references (``env:NAME``, ``file:/path``) into secrets at run time.

The config only ever holds references, so secrets never reach the config hash, the audit
log or ``zonegate config show``. Errors name the variable or file and who needed it, never
the secret, and a reference that resolves to nothing is an error (fail closed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class CredentialError(Exception):
    """A credential reference could not be resolved; the message says what to set or fix."""


def resolve_secret(ref: str, env: Mapping[str, str] | None = None, *, needed_by: str = "") -> str:
    """The secret ``ref`` points at. ``needed_by`` (e.g. "model 'vendor-chat'") goes in errors."""
    env = os.environ if env is None else env
    who = f" (needed by {needed_by})" if needed_by else ""
    if ref.startswith("env:"):
        name = ref[4:]
        value = env.get(name)
        if value is None:
            raise CredentialError(
                f"environment variable {name} is not set{who}: export {name}=... before "
                "starting zonegate"
            )
        if not value:
            raise CredentialError(f"environment variable {name} is empty{who}: give it the secret")
        return value
    if ref.startswith("file:"):
        path = Path(ref[5:])
        try:
            value = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CredentialError(
                f"secret file {path} does not exist{who}: create it or fix the reference"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = (
                exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            )
            raise CredentialError(
                f"cannot read secret file {path}{who}: {reason}; check the path and that "
                "zonegate's user may read it (UTF-8 text)"
            ) from None
        value = value.rstrip("\r\n")
        if not value:
            raise CredentialError(f"secret file {path} is empty{who}: put the secret in it")
        return value
    raise CredentialError(
        f"not a credential reference{who}: write 'env:NAME' or 'file:/path/to/secret'"
    )
