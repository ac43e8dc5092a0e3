"""Shared plumbing for the built-in detectors: the data class set from config, and findings."""

from __future__ import annotations

from zonegate.guards.base import Finding


class BuiltinDetector:
    """Base of the built-ins: ``type`` is the entry-point name, ``data_class`` comes from config.

    Subclasses add ``detect``.
    """

    __slots__ = ("data_class",)

    type: str = ""

    def __init__(self, *, data_class: str) -> None:
        self.data_class = data_class

    def _finding(self, start: int, end: int) -> Finding:
        return Finding(self.type, start, end, self.data_class)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data_class={self.data_class!r})"
