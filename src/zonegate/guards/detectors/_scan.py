"""Views of a text that several detectors need, computed once per text and shared.

Python's regex engine spends about 5-10 ns per character just looking for where a pattern could
start; twenty number detectors each scanning a 2 KB text would cost ~400 us. Instead one pass
finds every *number run* (digits with single separators between groups), grouped by how many
digits it holds, and each number detector looks only at runs of the sizes its identifier can
have (a US SSN has 9 digits, a card 12-19), matching its own pattern at those places.

The classifier hands detectors a ``ScanText``: a ``str`` that keeps these views once computed.
Called with a plain ``str`` (tests, third-party callers), the helpers compute them afresh.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

# Digit groups joined by one separator: space, dot, dash, or a bracket or slash with optional
# spaces ("(415) 555-2671", "12.345.678/0001-95"). The pattern runs over the text's bytes with
# every ASCII digit turned into '0' and every other non-ASCII character into '?' (one byte per
# character, so offsets are unchanged): a pattern that starts with a literal lets the engine skip
# ahead at memchr speed, ~15x faster than a character class, and bytes are the cheapest to
# translate.
_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_ZERO_RUN = re.compile(rb"0(?:0*(?:[ .-]|[ ]?[()/][ ]?)(?=0))*0*")


class Run(NamedTuple):
    start: int
    end: int
    digits: int


class Runs:
    """Number runs of one text, in order and by digit count."""

    __slots__ = ("_by_digits", "all")

    def __init__(self, text: str) -> None:
        runs: list[Run] = []
        by_digits: dict[int, list[Run]] = {}
        zeros = text.encode("ascii", "replace").translate(_ZEROS)
        make = tuple.__new__  # Run(...) through its generated __new__ costs three times more
        for m in _ZERO_RUN.finditer(zeros):
            start, end = m.span()
            digits = zeros.count(b"0", start, end)
            run: Run = make(Run, (start, end, digits))
            runs.append(run)
            group = by_digits.get(digits)
            if group is None:
                by_digits[digits] = [run]
            else:
                group.append(run)
        self.all = runs
        self._by_digits = by_digits

    def with_digits(self, low: int, high: int) -> Sequence[Run]:
        """Runs holding between ``low`` and ``high`` digits, in text order within each size.

        A sequence, not a generator: every number detector walks it, and a list costs a third
        of a generator per item. It may be the stored list itself: read it, do not change it.
        """
        groups = self._by_digits
        if low == high:
            return groups.get(low, ())
        if high - low > len(groups):
            sizes = sorted(size for size in groups if low <= size <= high)
        else:
            sizes = [size for size in range(low, high + 1) if size in groups]
        if len(sizes) == 1:
            return groups[sizes[0]]
        found: list[Run] = []
        for size in sizes:
            found += groups[size]
        return found


class ScanText(str):
    """A text with its shared views cached on first use (see the module docstring)."""

    _runs: Runs | None = None
    _lower: str | None = None
    _digit: bool | None = None


def has_digit(text: str) -> bool:
    """Whether ``text`` holds an ASCII digit (cached on a ``ScanText``)."""
    if isinstance(text, ScanText):
        if text._digit is None:
            text._digit = _has_digit(text)
        return text._digit
    return _has_digit(text)


def _has_digit(text: str) -> bool:
    # Ten substring searches run at memchr speed; a regex character class is ~20x slower.
    return (
        "0" in text or "1" in text or "2" in text or "3" in text or "4" in text
        or "5" in text or "6" in text or "7" in text or "8" in text or "9" in text
    )  # fmt: skip


def number_runs(text: str) -> Runs:
    """The number runs of ``text`` (cached on a ``ScanText``)."""
    if isinstance(text, ScanText):
        if text._runs is None:
            text._runs = Runs(text)
        return text._runs
    return Runs(text)


def lowered(text: str) -> str:
    """``text`` in lower case with the same offsets (cached on a ``ScanText``).

    ``str.lower`` lengthens a few characters (``İ`` becomes two); those keep their first one.
    """
    if isinstance(text, ScanText):
        if text._lower is None:
            text._lower = _lower(text)
        return text._lower
    return _lower(text)


def _lower(text: str) -> str:
    low = str.lower(text)
    if len(low) == len(text):
        return low
    return "".join(ch.lower()[:1] for ch in text)


def positions(haystack: str, needle: str) -> list[int]:
    """Every index where ``needle`` occurs in ``haystack`` (a C-speed search per hit)."""
    i = haystack.find(needle)
    if i < 0:
        return []
    found = [i]
    while (i := haystack.find(needle, i + 1)) >= 0:
        found.append(i)
    return found
