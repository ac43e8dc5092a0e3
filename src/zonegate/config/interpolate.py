"""``${NAME}`` / ``${NAME:-default}`` environment interpolation for non-secret config values.

Interpolation runs on the string scalars of the YAML file before validation, so one file can
serve several deployments (a base URL, an upstream model name). Secrets are not meant to pass
through here: credentials are ``env:NAME`` / ``file:/path`` references resolved at run time,
and the schema rejects anything else in a credential field.

Syntax, as in POSIX shells and Docker Compose:

- ``${NAME}``: the variable's value; an unset variable is an error.
- ``${NAME:-default}``: the default when the variable is unset or empty.
- ``$${``: a literal ``${`` (the escape); any other ``$`` is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class InterpolationError(ValueError):
    """A ``${...}`` expression could not be expanded; the message says which and how to fix."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Expand every ``${...}`` expression in ``text`` from ``env``."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        if text.startswith("$${", i):
            out.append("${")
            i += 3
        elif text.startswith("${", i):
            end = text.find("}", i + 2)
            if end == -1:
                raise InterpolationError(
                    f"unterminated '${{' in {text!r}: close it with '}}', "
                    "or write '$${' for a literal '${'"
                )
            out.append(_expand(text[i + 2 : end], env))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expand(expr: str, env: Mapping[str, str]) -> str:
    name, sep, default = expr.partition(":-")
    if not _NAME.match(name):
        raise InterpolationError(
            f"'${{{expr}}}' is not a valid expression: use ${{NAME}} or ${{NAME:-default}}, "
            "where NAME is letters, digits and underscores"
        )
    value = env.get(name)
    if sep:
        return value if value else default
    if value is None:
        raise InterpolationError(
            f"environment variable {name} is not set: set it, or give a default "
            f"with '${{{name}:-default}}'",
            variable=name,
        )
    return value
