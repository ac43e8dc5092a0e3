"""``regex``: the output matches a regular expression.

The pattern is the scorer's ``pattern`` option, or else each item's reference. Patterns pass the
same safety checks as custom detectors (``zonegate.guards.detectors.custom.compile_pattern``):
one that can match empty text, nests unbounded repeats or holds more than one is refused when
the suite loads, so a pattern cannot stall a run. ``mode: search`` looks for a match anywhere
(in windows of 1,024 characters overlapping by 256, which keeps the cost linear, so a match
longer than 256 characters can be missed; ``^`` and ``$`` match at line boundaries);
``mode: fullmatch`` requires the whole output, trimmed, to match. ``negate`` passes when there
is no match (an output that must not say something).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from zonegate.evals.scorers.base import BaseScorer, Options, parse_options, quote
from zonegate.evals.types import Item, Judge, Score
from zonegate.guards.detectors.custom import UnsafePattern, compile_pattern, windowed


class RegexOptions(Options):
    pattern: str | None = None
    mode: Literal["search", "fullmatch"] = "search"
    case_sensitive: bool = True
    negate: bool = False


class RegexScorer(BaseScorer):
    """Passes when the pattern matches the output (or does not, with ``negate``)."""

    name = "regex"

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(RegexOptions, self.name, options)
        self._fixed: re.Pattern[str] | None = None
        if self.options.pattern is not None:
            try:
                self._fixed = self._compile(self.options.pattern)
            except UnsafePattern as exc:
                raise ValueError(
                    f"bad options for scorer 'regex': option 'pattern': {exc}"
                ) from None

    def _compile(self, pattern: str) -> re.Pattern[str]:
        return compile_pattern(pattern, case_sensitive=self.options.case_sensitive)

    def check_item(self, item: Item) -> str | None:
        if self._fixed is not None:
            return None
        if not isinstance(item.reference, str):
            return "scorer 'regex' needs the option 'pattern' or a 'reference' that is a pattern"
        try:
            self._compile(item.reference)
        except UnsafePattern as exc:
            return f"scorer 'regex': the reference pattern is refused: {exc}"
        return None

    def _pattern(self, item: Item) -> re.Pattern[str]:
        if self._fixed is not None:
            return self._fixed
        problem = self.check_item(item)
        if problem is not None or not isinstance(item.reference, str):
            raise ValueError(f"item {item.id!r}: {problem}")
        return self._compile(item.reference)

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        pattern = self._pattern(item)
        if self.options.mode == "fullmatch":
            match = pattern.fullmatch(output.strip())
            span = match.span() if match else None
            text = output.strip()
        else:
            spans = windowed(pattern, output)
            span = spans[0] if spans else None
            text = output
        matched = span is not None
        passed = matched != self.options.negate
        if span is not None:
            what = f"matched {quote(text[span[0] : span[1]], 40)} at {span[0]}"
        else:
            what = "no match"
        verb = "fullmatch" if self.options.mode == "fullmatch" else "search"
        negated = " (negated)" if self.options.negate else ""
        return self.result(
            passed,
            f"{verb} {quote(pattern.pattern, 60)}{negated}: {what} in output {quote(output)}",
        )
