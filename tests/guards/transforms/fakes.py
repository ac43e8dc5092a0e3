"""Small detectors for the transform tests, so they do not depend on the real detector set."""

from __future__ import annotations

import re

from zonegate.guards.base import Finding


class RegexDetector:
    """Reports every match of ``pattern`` as one finding of ``type`` and ``data_class``."""

    def __init__(self, type_: str, pattern: str, data_class: str) -> None:
        self.type = type_
        self.data_class = data_class
        self._pattern = re.compile(pattern)

    def detect(self, text: str) -> list[Finding]:
        return [
            Finding(self.type, m.start(), m.end(), self.data_class)
            for m in self._pattern.finditer(text)
        ]


def email(data_class: str = "confidential") -> RegexDetector:
    return RegexDetector(
        "email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[a-z]{2,}", data_class
    )


def card(data_class: str = "restricted") -> RegexDetector:
    return RegexDetector("payment_card", r"\b4[0-9]{3}(?:[ -]?[0-9]{4}){3}\b", data_class)


def secret(data_class: str = "restricted") -> RegexDetector:
    return RegexDetector("api_key", r"sk-[A-Za-z0-9]{8,}", data_class)


class ExplodingDetector:
    """A detector that always fails, to prove the transform fails closed."""

    type = "exploding"

    def detect(self, text: str) -> list[Finding]:
        raise RuntimeError("boom")


class FixedDetector:
    """Reports the given spans, but only in the one text ``within``."""

    def __init__(
        self, type_: str, data_class: str, spans: list[tuple[int, int]], within: str
    ) -> None:
        self.type = type_
        self._class = data_class
        self._spans = spans
        self._within = within

    def detect(self, text: str) -> list[Finding]:
        if text != self._within:
            return []
        return [Finding(self.type, s, e, self._class) for s, e in self._spans]
