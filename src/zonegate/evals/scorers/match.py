"""Whole-answer comparison with the reference: ``exact`` and ``normalised``.

``normalised`` applies, in this order and each switchable: Unicode NFKC (full-width letters,
ligatures and compatibility forms become their plain equivalents), case folding (``casefold``,
so ``Straße`` equals ``STRASSE``), removal of punctuation (every Unicode ``P*`` character, as
SQuAD-style scoring does: ``U.S.A.`` becomes ``USA``), optional removal of the English articles
``a``/``an``/``the``, and whitespace collapsing (runs become one space, ends are trimmed).
A reference may be a list of acceptable answers; the output passes if it equals any of them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from zonegate.evals.scorers.base import (
    NeedsReference,
    Options,
    describe_references,
    parse_options,
    quote,
)
from zonegate.evals.types import Item, Judge, Score

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_SPACES = re.compile(r"\s+")


def normalise_text(
    text: str,
    *,
    unicode: bool = True,
    case: bool = True,
    punctuation: bool = True,
    articles: bool = False,
    whitespace: bool = True,
) -> str:
    """``text`` normalised as the module docstring describes."""
    if unicode:
        text = unicodedata.normalize("NFKC", text)
    if case:
        text = text.casefold()
    if punctuation:
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    if articles:
        text = _ARTICLES.sub(" ", text)
    if whitespace:
        text = _SPACES.sub(" ", text).strip()
    return text


class ExactOptions(Options):
    strip: bool = True  # ignore leading and trailing whitespace of the output


class ExactScorer(NeedsReference):
    """Passes when the output is character for character one of the references."""

    name = "exact"

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(ExactOptions, self.name, options)

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        refs = self.references(item)
        answer = output.strip() if self.options.strip else output
        passed = answer in refs
        verb = "equals" if passed else "does not equal"
        return self.result(passed, f"output {quote(answer)} {verb} {describe_references(refs)}")


class NormalisedOptions(Options):
    unicode: bool = True
    case: bool = True
    punctuation: bool = True
    articles: bool = False
    whitespace: bool = True


class NormalisedScorer(NeedsReference):
    """Passes when the normalised output equals one of the normalised references."""

    name = "normalised"

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(NormalisedOptions, self.name, options)

    def normalise(self, text: str) -> str:
        return normalise_text(text, **self.options.model_dump())

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        refs = self.references(item)
        answer = self.normalise(output)
        normalised = [self.normalise(r) for r in refs]
        passed = answer in normalised
        verb = "equals" if passed else "does not equal"
        return self.result(
            passed,
            f"normalised output {quote(answer)} {verb} {describe_references(normalised)} "
            f"(output {quote(output)})",
        )
