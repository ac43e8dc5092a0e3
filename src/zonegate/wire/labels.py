"""Where a caller declares a request's data class and purpose: headers, or metadata keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DATA_CLASS_HEADER = "x-zonegate-data-class"
PURPOSE_HEADER = "x-zonegate-purpose"
DATA_CLASS_KEYS = ("zonegate_data_class", "data_class")
PURPOSE_KEYS = ("zonegate_purpose", "purpose")


def from_metadata(metadata: Mapping[str, Any] | None, keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` present in ``metadata`` with a string value."""
    if not isinstance(metadata, Mapping):
        return None
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, str):
            return value
    return None
