"""Shared plumbing for the built-in detectors: the data class set from config, findings, context.

Built-ins are ``joinable``: the classifier may hand them every text of a request joined by a
separator that none of their patterns match, and calls each once per request. Those marked
``needs_digits`` are skipped outright when the request holds no digit.
"""

from __future__ import annotations

import re
from typing import ClassVar

from zonegate.guards.base import Finding

# Characters that make a number or token part of a longer one when glued to it.
WORD_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


class BuiltinDetector:
    """Base of the built-ins: ``type`` is the entry-point name, ``data_class`` comes from config.

    Subclasses add ``detect``.
    """

    __slots__ = ("data_class",)

    type: str = ""
    joinable: ClassVar[bool] = True
    needs_digits: ClassVar[bool] = False

    def __init__(self, *, data_class: str) -> None:
        self.data_class = data_class

    def _finding(self, start: int, end: int) -> Finding:
        return Finding(self.type, start, end, self.data_class)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data_class={self.data_class!r})"


def glued(text: str, start: int, end: int, extra: str = "") -> bool:
    """Whether ``text[start:end]`` is part of a longer token.

    It is when a word character touches it, or one of ``extra`` (such as '-' or '.') that joins
    it to a further word character: ``x-123`` and ``123.4`` continue, ``123.`` ending a sentence
    does not.
    """
    if start > 0:
        before = text[start - 1]
        if before in WORD_CHARS or (
            before in extra and start > 1 and text[start - 2] in WORD_CHARS
        ):
            return True
    if end < len(text):
        after = text[end]
        if after in WORD_CHARS or (
            after in extra and end + 1 < len(text) and text[end + 1] in WORD_CHARS
        ):
            return True
    return False


def glued_before(text: str, start: int) -> bool:
    """Whether a word character comes right before ``start``."""
    return start > 0 and text[start - 1] in WORD_CHARS


def glued_after(text: str, end: int) -> bool:
    """Whether a word character comes right at ``end``."""
    return end < len(text) and text[end] in WORD_CHARS


def keywords(*words: str) -> re.Pattern[str]:
    """A case-insensitive pattern for any of ``words`` as whole words (for context checks)."""
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)


def near(context: re.Pattern[str], text: str, start: int, end: int, before: int = 48) -> bool:
    """Whether ``context`` occurs in the ``before`` characters ahead of a match or just after it."""
    if context.search(text, max(0, start - before), start) is not None:
        return True
    return context.search(text, end, min(len(text), end + 24)) is not None
