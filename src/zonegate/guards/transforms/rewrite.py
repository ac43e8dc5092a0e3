"""Writing placeholders into texts, and numbering pseudonyms for one request.

Numbers count distinct values per label in document order (``<EMAIL_1>`` is the first email in
the request), skipping any placeholder the request already contains as literal text.
"""

from __future__ import annotations

from zonegate.guards.transforms import json_text
from zonegate.guards.transforms.placeholders import PSEUDONYMISE, REDACT, label, pseudonym, redacted
from zonegate.guards.transforms.spans import Span

_LABELS_CACHED = 1024  # finding types are few; the bound only guards against odd detectors


class Rewriter:
    """Replaces spans in texts; keeps the counts and the pseudonym mapping it made."""

    __slots__ = ("assigned", "counts", "labels", "numbers", "reserved", "values")

    def __init__(
        self, reserved: frozenset[str] = frozenset(), labels: dict[str, str] | None = None
    ) -> None:
        self.reserved = reserved
        self.counts: dict[str, int] = {}
        self.values: dict[str, str] = {}  # placeholder -> original value
        self.assigned: dict[tuple[str, str], str] = {}  # (label, value) -> placeholder
        self.numbers: dict[str, int] = {}
        self.labels: dict[str, str] = {} if labels is None else labels  # type -> label cache

    def text(self, text: str, spans: list[Span]) -> str:
        """``text`` with each span replaced by its placeholder."""
        out: list[str] = []
        pos = 0
        for span in spans:
            out.append(text[pos : span.start])
            out.append(self.placeholder(span.type, span.action, text[span.start : span.end]))
            pos = span.end
        out.append(text[pos:])
        return "".join(out)

    def json(self, text: str, spans: list[Span]) -> str:
        """The same for JSON text: values are taken decoded, and the result stays valid JSON."""
        out: list[str] = []
        pos = 0
        for piece in json_text.pieces(text, spans):
            out.append(text[pos : piece.start])
            raw = text[piece.start : piece.end]
            if piece.number:
                out.append('"' + self.placeholder(piece.type, piece.action, raw) + '"')
            else:
                value = json_text.decode(raw) if piece.action == PSEUDONYMISE else raw
                out.append(self.placeholder(piece.type, piece.action, value))
            pos = piece.end
        out.append(text[pos:])
        return "".join(out)

    def placeholder(self, finding_type: str, action: str, value: str) -> str:
        self.counts[finding_type] = self.counts.get(finding_type, 0) + 1
        name = self.labels.get(finding_type)
        if name is None:
            name = label(finding_type)
            if len(self.labels) < _LABELS_CACHED:
                self.labels[finding_type] = name
        if action == REDACT:
            return redacted(name)
        assigned = self.assigned.get((name, value))
        if assigned is not None:
            return assigned
        number = self.numbers.get(name, 0) + 1
        while pseudonym(name, number) in self.reserved:
            number += 1
        self.numbers[name] = number
        assigned = pseudonym(name, number)
        self.assigned[name, value] = assigned
        self.values[assigned] = value
        return assigned
