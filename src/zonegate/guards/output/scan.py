"""Scanning output text with the gateway's classifier, and redacting what it found.

The same classifier that classified the request scans the answer, so output sees the same
normalisation, JSON decoding and detector set. A detector failure raises ``ServiceUnavailable``
(fail closed: the answer is not released).
"""

from __future__ import annotations

from collections.abc import Sequence

from zonegate.errors import UpstreamError
from zonegate.guards.base import Finding
from zonegate.guards.output.rules import BLOCK, Hit, OutputRules
from zonegate.guards.transforms.placeholders import label, redacted
from zonegate.guards.transforms.scanning import Scanner
from zonegate.guards.transforms.spans import merge


class OutputScanner:
    """Finds the hits of ``rules`` in output texts; spans are relative to each text."""

    __slots__ = ("_classifier", "rules")

    def __init__(self, classifier: Scanner, rules: OutputRules) -> None:
        self._classifier = classifier
        self.rules = rules

    def scan(self, texts: Sequence[str]) -> list[list[Hit]]:
        """One list of hits per text, in text order."""
        out: list[list[Hit]] = [[] for _ in texts]
        if not any(texts):
            return out
        found = self._classifier.classify(texts)
        per_text: list[list[Finding]] = [[] for _ in texts]
        for located in found.findings:
            per_text[located.text_index].append(located.finding)
        for index, findings in enumerate(per_text):
            if findings:
                out[index] = self.rules.hits(findings)
        return out


def redact(text: str, hits: Sequence[Hit], counts: dict[str, int]) -> str:
    """``text`` with every hit replaced by its typed placeholder; ``counts`` by type."""
    if not hits:
        return text
    spans = merge((Finding(h.type, h.start, h.end, ""), h.action) for h in hits)
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(text[pos : span.start])
        parts.append(redacted(label(span.type)))
        counts[span.type] = counts.get(span.type, 0) + 1
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)


def blocked_types(hits: Sequence[Hit]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for hit in hits:
        if hit.action == BLOCK:
            counts[hit.type] = counts.get(hit.type, 0) + 1
    return counts


def output_blocked(types: dict[str, int]) -> UpstreamError:
    """The error that replaces an answer holding data the route blocks (types, never values)."""
    return UpstreamError(
        f"the model's answer contained data this route does not let the caller see "
        f"({', '.join(sorted(types))}), so it was withheld; the route's 'output' settings "
        "decide this (redact instead of block to receive the rest)",
        code="output_blocked",
    )
