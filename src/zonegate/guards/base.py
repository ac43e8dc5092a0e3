"""The Detector protocol and its findings.

A detector is pure and deterministic: no network, no global state. Findings carry the type, where
it was found and the data class it implies, never the matched value, so they may be logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Finding:
    type: str
    start: int
    end: int
    data_class: str
    confidence: float = 1.0


@runtime_checkable
class Detector(Protocol):
    """Finds one kind of sensitive thing. ``data_class`` is set from config when built."""

    type: str

    def detect(self, text: str) -> list[Finding]: ...


class DetectorFactory(Protocol):
    def __call__(self, *, data_class: str) -> Detector: ...
