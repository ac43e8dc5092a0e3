"""The canonical form of a config and its hash, stored with every audit record.

The hash is over the validated config (defaults filled in, keys sorted, compact JSON), so it
does not change with the YAML's key order, comments or formatting, and changes whenever any
effective value does. Decimals are written in their shortest exact form, so ``0.60`` and
``0.6`` hash the same. Credentials are references in the config, so no secret is ever hashed.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from pydantic_core import to_jsonable_python

from zonegate.config.schema import Config


def canonical_dump(config: Config) -> bytes:
    """Sorted-key compact JSON of the validated config, UTF-8 encoded."""
    return json.dumps(
        config.model_dump(mode="python"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_jsonable,
    ).encode("utf-8")


def config_hash(config: Config) -> str:
    """``"sha256:<hex>"`` of ``canonical_dump(config)``."""
    return "sha256:" + hashlib.sha256(canonical_dump(config)).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    return to_jsonable_python(value)
