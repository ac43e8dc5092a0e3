"""``numeric``: the number in the output equals the reference within a tolerance.

The output's numbers are read left to right: an optional sign, digits with optional thousands
separators (``1,234``), an optional decimal part and exponent. A number glued to a letter or a
dot on its left (``A4``, ``v2``) is not one; ``5-3`` reads as 5 and 3. ``pick`` takes the
``first`` or the ``last`` (the default: models tend to state the result last). The comparison
is ``math.isclose(found, reference, rel_tol=rel_tol, abs_tol=abs_tol)``, exact by default.
The reference is a number, or a string holding one.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import Field

from zonegate.evals.scorers.base import BaseScorer, Options, parse_options, quote
from zonegate.evals.types import Item, Judge, Score

_NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def numbers_in(text: str) -> list[float]:
    """Every number in ``text``, in order (see the module docstring for what counts)."""
    return [_to_float(m.group()) for m in _NUMBER.finditer(text)]


def _to_float(token: str) -> float:
    return float(token.replace(",", "").replace("\u2212", "-"))


def _fmt(value: float) -> str:
    """A number as it was probably written: ``42`` rather than ``42.0``, no rounding."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def reference_number(value: Any) -> float | None:
    """The reference as a number: a finite int or float (not a bool), or a string of one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        match = _NUMBER.fullmatch(value.strip())
        return _to_float(match.group()) if match else None
    return None


class NumericOptions(Options):
    pick: Literal["first", "last"] = "last"
    abs_tol: float = Field(0.0, ge=0, allow_inf_nan=False)
    rel_tol: float = Field(0.0, ge=0, allow_inf_nan=False)


class NumericScorer(BaseScorer):
    """Passes when the picked number is within tolerance of the reference."""

    name = "numeric"

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(NumericOptions, self.name, options)

    def check_item(self, item: Item) -> str | None:
        if reference_number(item.reference) is None:
            return "scorer 'numeric' needs a 'reference' that is a number (or a string of one)"
        return None

    def _tolerance(self) -> str:
        parts = []
        if self.options.abs_tol:
            parts.append(f"±{self.options.abs_tol:g}")
        if self.options.rel_tol:
            parts.append(f"±{self.options.rel_tol * 100:g}%")
        return f" ({' or '.join(parts)})" if parts else " (exactly)"

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        expected = reference_number(item.reference)
        if expected is None:
            raise ValueError(f"item {item.id!r}: {self.check_item(item)}")
        found = numbers_in(output)
        if not found:
            return self.result(False, f"no number in output {quote(output)}")
        index = 0 if self.options.pick == "first" else len(found) - 1
        value = found[index]
        passed = math.isclose(
            value, expected, rel_tol=self.options.rel_tol, abs_tol=self.options.abs_tol
        )
        verb = "matches" if passed else "does not match"
        return self.result(
            passed,
            f"{self.options.pick} of {len(found)} number(s), {_fmt(value)}, {verb} reference "
            f"{_fmt(expected)}{self._tolerance()} in output {quote(output)}",
        )
