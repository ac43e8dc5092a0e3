"""``choice``: classification answers, e.g. ``positive``/``negative`` or ``A``/``B``/``C``/``D``.

The output's label is the allowed label that occurs first in it, as a whole word (ignoring case
unless ``case_sensitive``); when two start at the same place the longer wins. So ``Negative,
not positive`` reads as ``negative``, and an output naming no allowed label fails. Each item's
reference must be one of ``labels``, which the loader checks.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from zonegate.evals.scorers.base import BaseScorer, Options, parse_options, quote
from zonegate.evals.types import Item, Judge, Score


class ChoiceOptions(Options):
    labels: list[str] = Field(min_length=2)
    case_sensitive: bool = False


class ChoiceScorer(BaseScorer):
    """Passes when the first allowed label in the output is the reference."""

    name = "choice"

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(ChoiceOptions, self.name, options)
        labels = self.options.labels
        keys = [self._key(label) for label in labels]
        if any(not label.strip() for label in labels):
            raise ValueError("bad options for scorer 'choice': 'labels' holds an empty label")
        if len(set(keys)) != len(keys):
            raise ValueError(
                "bad options for scorer 'choice': 'labels' repeats a label"
                + ("" if self.options.case_sensitive else " (ignoring case)")
            )
        flags = 0 if self.options.case_sensitive else re.IGNORECASE
        self._patterns = [
            (label, re.compile(rf"(?<!\w){re.escape(label.strip())}(?!\w)", flags))
            for label in labels
        ]

    def _key(self, label: str) -> str:
        return label.strip() if self.options.case_sensitive else label.strip().casefold()

    def check_item(self, item: Item) -> str | None:
        if item.reference not in self.options.labels:
            return (
                f"scorer 'choice': the reference {item.reference!r} is not one of the labels "
                f"{self._labels()}"
            )
        return None

    def _labels(self) -> str:
        labels = self.options.labels
        shown = ", ".join(repr(label) for label in labels[:10])
        return f"({shown}{', …' if len(labels) > 10 else ''})"

    def label_of(self, output: str) -> tuple[str, int] | None:
        """The label the output gives and where it starts, or ``None``."""
        best: tuple[int, int, str] | None = None
        for label, pattern in self._patterns:
            match = pattern.search(output)
            if match is None:
                continue
            rank = (match.start(), -len(label), label)
            if best is None or rank < best:
                best = rank
        return None if best is None else (best[2], best[0])

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        if self.check_item(item) is not None:
            raise ValueError(f"item {item.id!r}: {self.check_item(item)}")
        found = self.label_of(output)
        if found is None:
            return self.result(
                False,
                f"no label of {self._labels()} in output {quote(output)}; "
                f"reference {item.reference!r}",
            )
        label, at = found
        passed = label == item.reference
        verb = "is" if passed else "is not"
        return self.result(
            passed,
            f"label {label!r} (at {at}) {verb} the reference {item.reference!r} "
            f"in output {quote(output)}",
        )
