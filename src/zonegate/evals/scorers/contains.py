"""``contains``: the output includes the expected text somewhere.

The texts looked for are the scorer's ``values`` option when given (the same for every item),
else the item's reference (a string or a list of strings). ``mode: any`` passes when one of them
occurs, ``mode: all`` when every one does (its value is then the share found). Matching ignores
case unless ``case_sensitive``; ``whole_words`` requires a non-word character (or the end of the
text) on both sides, so ``no`` is not found in ``nothing``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from zonegate.evals.scorers.base import BaseScorer, Options, parse_options, quote, reference_texts
from zonegate.evals.types import Item, Judge, Score


class ContainsOptions(Options):
    mode: Literal["any", "all"] = "any"
    case_sensitive: bool = False
    whole_words: bool = False
    values: list[str] | None = Field(None, min_length=1)


class ContainsScorer(BaseScorer):
    """Passes when any (or all) of the expected texts occur in the output."""

    name = "contains"

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(ContainsOptions, self.name, options)
        if self.options.values is not None and not all(self.options.values):
            raise ValueError("bad options for scorer 'contains': 'values' holds an empty string")

    def check_item(self, item: Item) -> str | None:
        if self.options.values is not None:
            return None
        needles = reference_texts(item)
        if needles is None:
            return (
                "scorer 'contains' needs a 'reference' (a string or a list of strings) or the "
                "scorer option 'values'"
            )
        if not all(needles):
            return (
                "scorer 'contains': the reference holds an empty string, which every output "
                "contains"
            )
        return None

    def _needles(self, item: Item) -> list[str]:
        if self.options.values is not None:
            return list(self.options.values)
        needles = reference_texts(item)
        if needles is None:
            raise ValueError(f"item {item.id!r}: {self.check_item(item)}")
        return needles

    def _found(self, needle: str, output: str) -> bool:
        if not self.options.case_sensitive:
            needle, output = needle.casefold(), output.casefold()
        if not self.options.whole_words:
            return needle in output
        return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", output) is not None

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        needles = self._needles(item)
        found = [n for n in needles if self._found(n, output)]
        missing = [n for n in needles if n not in found]
        if self.options.mode == "any":
            passed = bool(found)
            value = 1.0 if passed else 0.0
        else:
            passed = not missing
            value = len(found) / len(needles)
        parts = []
        if found:
            parts.append("found " + ", ".join(quote(n, 40) for n in found[:5]))
        if missing:
            parts.append("missing " + ", ".join(quote(n, 40) for n in missing[:5]))
        return self.result(
            passed, f"{'; '.join(parts)} ({self.options.mode}) in output {quote(output)}", value
        )
