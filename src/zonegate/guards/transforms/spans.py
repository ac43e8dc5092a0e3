"""Which parts of one string are replaced: findings with an action, overlaps merged.

Detectors overlap (a card number inside a longer custom pattern, an email found by two
detectors). Overlapping or touching-inside findings become one replacement covering all of them;
it takes the type of the widest finding (the first one on a tie) and the stricter action
(``redact`` if any of them asks for it), so nothing ends up half-replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from zonegate.guards.base import Finding
from zonegate.guards.transforms.placeholders import REDACT


class Span(NamedTuple):
    start: int
    end: int
    type: str
    action: str


def merge(found: Iterable[tuple[Finding, str]]) -> list[Span]:
    """Merge (finding, action) pairs into non-overlapping spans, in text order."""
    items = sorted(found, key=lambda item: (item[0].start, -item[0].end))
    out: list[Span] = []
    start = end = -1
    best: Finding | None = None
    action = ""
    for finding, act in items:
        if best is not None and finding.start < end:
            end = max(end, finding.end)
            if finding.end - finding.start > best.end - best.start:
                best = finding
            if act == REDACT:
                action = REDACT
            continue
        if best is not None:
            out.append(Span(start, end, best.type, action))
        start, end, best, action = finding.start, finding.end, finding, act
    if best is not None:
        out.append(Span(start, end, best.type, action))
    return out
