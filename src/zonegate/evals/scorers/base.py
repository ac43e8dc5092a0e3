"""What every built-in scorer shares: strict options, reference checks, short explanations.

Options come from ``suite.yaml``, so they are validated like config (unknown keys and wrong types
are errors, not silently coerced) and a bad option fails when the suite loads, not mid-run.
Scorers may also define ``check_item(item) -> str | None``: the suite loader calls it for every
item, so an item the scorer could never score (no reference, a label outside the allowed ones)
is reported with its file and line before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from zonegate.evals.types import Item, Judge, Score

EXCERPT = 80  # characters of an output or reference quoted in an explanation

_O = TypeVar("_O", bound="Options")


class Options(BaseModel):
    """Base of each scorer's options: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def parse_options(model: type[_O], scorer: str, options: Mapping[str, Any]) -> _O:
    """``options`` validated as ``model``; ``ValueError`` naming each bad option and why."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "options"
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(f.alias or n for n, f in model.model_fields.items()) or "none"
                parts.append(f"unknown option {where!r} (allowed: {allowed})")
            elif err["type"] == "missing":
                parts.append(f"missing required option {where!r}")
            else:
                message = str(err["msg"])
                if err["type"] in ("value_error", "assertion_error") and ", " in message:
                    message = message.split(", ", 1)[1]
                message = message[:1].lower() + message[1:]
                if err["type"] == "string_type" and isinstance(err.get("input"), bool):
                    message += " (YAML reads yes/no/on/off as true/false: quote the word)"
                parts.append(f"option {where!r}: {message}")
        raise ValueError(f"bad options for scorer {scorer!r}: " + "; ".join(parts)) from None


def quote(text: str, limit: int = EXCERPT) -> str:
    """``text`` as a one-line quoted excerpt: at most ``limit`` characters, its length if cut."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} chars)"


def reference_texts(item: Item) -> list[str] | None:
    """The item's acceptable answers: a string, or a non-empty list of strings; else ``None``."""
    ref = item.reference
    if isinstance(ref, str):
        return [ref]
    if isinstance(ref, list) and ref and all(isinstance(r, str) for r in ref):
        return list(ref)
    return None


def describe_references(refs: list[str]) -> str:
    """``'Paris'`` or ``one of 'Paris', 'Paris, France'`` for an explanation."""
    if len(refs) == 1:
        return quote(refs[0])
    shown = ", ".join(quote(r, 40) for r in refs[:5])
    more = f" and {len(refs) - 5} more" if len(refs) > 5 else ""
    return f"one of {shown}{more}"


class BaseScorer:
    """Defaults for the ``Scorer`` protocol: no judge, every item accepted."""

    name: str = ""
    needs_judge: bool = False

    def check_item(self, item: Item) -> str | None:
        """Why this scorer cannot score ``item`` (checked when the suite loads), or ``None``."""
        return None

    def result(self, passed: bool, explanation: str, value: float | None = None) -> Score:
        """A ``Score`` from this scorer; ``value`` defaults to 1.0 for a pass, 0.0 for a fail."""
        if value is None:
            value = 1.0 if passed else 0.0
        return Score(scorer=self.name, passed=passed, value=value, explanation=explanation)

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        raise NotImplementedError


class NeedsReference(BaseScorer):
    """A scorer comparing the output with the item's reference answer(s)."""

    def check_item(self, item: Item) -> str | None:
        if reference_texts(item) is None:
            return (
                f"scorer {self.name!r} needs a 'reference': a string, or a list of acceptable "
                "strings"
            )
        return None

    def references(self, item: Item) -> list[str]:
        """The item's references; ``ValueError`` if it has none (the loader checks this)."""
        refs = reference_texts(item)
        if refs is None:
            raise ValueError(f"item {item.id!r}: {self.check_item(item)}")
        return refs
