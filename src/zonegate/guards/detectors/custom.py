"""Organisation-specific detectors from config: regular expressions and keyword lists.

Patterns come from people, not from this package, and Python's engine backtracks, so they are
checked before use: one that cannot compile, can match empty text, nests unbounded repeats
(``(a+)+``, ``(\\w+\\s?)*``: exponential time), repeats an alternation whose branches start
alike (``(a|ab)*``), or holds more than one unbounded repeat (``.*a.*b``: polynomial time) is a
config error. With one unbounded repeat a search can still cost the square of its input, so a
pattern is run over windows of ``WINDOW`` characters: the cost grows linearly with the body,
and a match is at most ``MAX_MATCH`` characters long (longer ones are cut).

Keywords are normalised like the text they are matched against and compiled into one pattern
shaped as a trie, so thousands of customer names cost one pass.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from zonegate.guards.base import Finding
from zonegate.guards.detectors._scan import lowered
from zonegate.guards.normalize import normalize

# The standard library's own regex parser (what ``re.compile`` uses), for the safety check.
sre_parse: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")

WINDOW = 1024
MAX_MATCH = 256
_STRIDE = WINDOW - MAX_MATCH
_UNBOUNDED = 64  # a repeat allowing more than this many is treated as unbounded
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


class UnsafePattern(ValueError):
    """A custom pattern that would not compile or could stall the gateway."""


def compile_pattern(pattern: str, *, case_sensitive: bool = True) -> re.Pattern[str]:
    """Compile a custom pattern after checking it is safe; ``UnsafePattern`` says why not."""
    flags = re.MULTILINE | (0 if case_sensitive else re.IGNORECASE)
    try:
        parsed = sre_parse.parse(pattern, flags)
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise UnsafePattern(f"not a valid regular expression: {exc}") from None
    if parsed.getwidth()[0] == 0:
        raise UnsafePattern(
            "the pattern can match empty text, so it would match everywhere; require at least "
            "one character (e.g. '+' instead of '*')"
        )
    problem = _nesting_problem(list(parsed), inside_unbounded=False)
    if problem is not None:
        raise UnsafePattern(f"{problem}: such a pattern can take exponential time on some inputs")
    if _unbounded_repeats(list(parsed)) > 1:
        raise UnsafePattern(
            "more than one unbounded repeat ('*', '+', '{n,}'): such a pattern can take "
            f"polynomial time on some inputs; bound all but one (e.g. '{{1,{_UNBOUNDED}}}' "
            "instead of '+')"
        )
    return compiled


def _unbounded_repeats(items: Sequence[tuple[Any, Any]]) -> int:
    """How many repeats allowing more than ``_UNBOUNDED`` matches the pattern holds."""
    count = 0
    for op, av in items:
        if op in _REPEATS:
            count += int(av[1] > _UNBOUNDED) + _unbounded_repeats(list(av[2]))
        elif op is sre_constants.SUBPATTERN:
            count += _unbounded_repeats(list(av[3]))
        elif op is sre_constants.ATOMIC_GROUP:
            count += _unbounded_repeats(list(av))
        elif op is sre_constants.BRANCH:
            count += max(_unbounded_repeats(list(b)) for b in av[1])
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            count += _unbounded_repeats(list(av[1]))
        elif op is sre_constants.GROUPREF_EXISTS:
            count += max(
                _unbounded_repeats(list(av[1])),
                _unbounded_repeats(list(av[2])) if av[2] is not None else 0,
            )
    return count


def _nesting_problem(items: Sequence[tuple[Any, Any]], *, inside_unbounded: bool) -> str | None:
    for op, av in items:
        if op in _REPEATS:
            _low, high, body = av
            unbounded = high > _UNBOUNDED
            if unbounded and inside_unbounded:
                return (
                    "an unbounded repeat inside another repeat (write '[A-Za-z ]+' rather than "
                    "'(\\w+\\s?)+')"
                )
            if unbounded and _overlapping_branch(list(body)):
                return (
                    "a repeated alternation whose branches can start alike (write '(?:ab?)+' "
                    "rather than '(a|ab)+')"
                )
            found = _nesting_problem(list(body), inside_unbounded=inside_unbounded or unbounded)
        elif op is sre_constants.SUBPATTERN:
            found = _nesting_problem(list(av[3]), inside_unbounded=inside_unbounded)
        elif op is sre_constants.ATOMIC_GROUP:
            found = _nesting_problem(list(av), inside_unbounded=inside_unbounded)
        elif op is sre_constants.BRANCH:
            found = None
            for branch in av[1]:
                found = found or _nesting_problem(list(branch), inside_unbounded=inside_unbounded)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found = _nesting_problem(list(av[1]), inside_unbounded=inside_unbounded)
        elif op is sre_constants.GROUPREF_EXISTS:
            found = _nesting_problem(list(av[1]), inside_unbounded=inside_unbounded)
            if found is None and av[2] is not None:
                found = _nesting_problem(list(av[2]), inside_unbounded=inside_unbounded)
        else:
            found = None
        if found is not None:
            return found
    return None


def _overlapping_branch(items: Sequence[tuple[Any, Any]]) -> bool:
    """Whether a repeated body holds an alternation whose branches can begin with the same
    character; a branch not starting with a literal (or empty) counts as overlapping."""
    for op, av in items:
        if op is sre_constants.SUBPATTERN and _overlapping_branch(list(av[3])):
            return True
        if op is sre_constants.BRANCH:
            firsts = [_first_literal(list(b)) for b in av[1]]
            if None in firsts or len(set(firsts)) != len(firsts):
                return True
    return False


def _first_literal(items: Sequence[tuple[Any, Any]]) -> int | None:
    if not items:
        return None
    op, av = items[0]
    if op is sre_constants.LITERAL:
        return int(av)
    if op is sre_constants.SUBPATTERN:
        return _first_literal(list(av[3]))
    return None


class RegexDetector:
    """Findings where an organisation's pattern matches (``custom_detectors`` of kind regex)."""

    __slots__ = ("_pattern", "data_class", "type")

    joinable: ClassVar[bool] = True

    def __init__(self, name: str, pattern: str, *, data_class: str, case_sensitive: bool) -> None:
        self.type = name
        self.data_class = data_class
        self._pattern = compile_pattern(pattern, case_sensitive=case_sensitive)

    def detect(self, text: str) -> list[Finding]:
        return [Finding(self.type, s, e, self.data_class) for s, e in windowed(self._pattern, text)]

    def __repr__(self) -> str:
        return f"RegexDetector({self.type!r}, data_class={self.data_class!r})"


def windowed(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Spans of ``pattern`` in ``text``, searched window by window (see the module docstring).

    Windows overlap by ``MAX_MATCH``; each owns the matches that start in its first ``_STRIDE``
    characters, so none is reported twice. Empty matches are ignored.
    """
    if len(text) <= WINDOW:
        return [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
    spans: list[tuple[int, int]] = []
    for pos in range(0, len(text), _STRIDE):
        endpos = min(pos + WINDOW, len(text))
        owned = endpos if endpos == len(text) else pos + _STRIDE
        for m in pattern.finditer(text, pos, endpos):
            if m.start() >= owned:
                break
            if m.end() > m.start():
                spans.append(m.span())
        if endpos == len(text):
            break
    return spans


class KeywordDetector:
    """Findings where any of an organisation's words or phrases occurs as a whole word
    (``custom_detectors`` of kind keywords): codenames, customer names."""

    __slots__ = ("_case_sensitive", "_pattern", "data_class", "type")

    joinable: ClassVar[bool] = True

    def __init__(
        self, name: str, words: Iterable[str], *, data_class: str, case_sensitive: bool
    ) -> None:
        self.type = name
        self.data_class = data_class
        self._case_sensitive = case_sensitive
        self._pattern = keyword_pattern(words, case_sensitive=case_sensitive)

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        haystack = text if self._case_sensitive else lowered(text)
        for m in self._pattern.finditer(haystack):
            start, end = m.span()
            if start > 0 and _is_word(text[start - 1]) and _is_word(text[start]):
                continue
            if end < len(text) and _is_word(text[end]) and _is_word(text[end - 1]):
                continue
            found.append(Finding(self.type, start, end, self.data_class))
        return found

    def __repr__(self) -> str:
        return f"KeywordDetector({self.type!r}, data_class={self.data_class!r})"


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def keyword_pattern(words: Iterable[str], *, case_sensitive: bool) -> re.Pattern[str]:
    """One pattern for all ``words`` (normalised), shaped as a trie: common prefixes are shared,
    so the engine does not retry every word at every position. Longer words win.

    Without ``case_sensitive`` the words are lower-cased and the pattern is meant for lower-cased
    text (``lowered``): a case-sensitive pattern lets the engine skip ahead on its first
    characters, about five times faster than ``re.IGNORECASE``."""
    trie: dict[str, Any] = {}
    for word in words:
        value = normalize(word.strip())[0]
        if not case_sensitive:
            value = value.lower()
        if not value:
            continue
        node = trie
        for ch in value:
            node = node.setdefault(ch, {})
        node[""] = {}
    if not trie:
        raise ValueError("a keyword list needs at least one non-empty word")
    return re.compile(_trie_regex(trie))


def _trie_regex(node: dict[str, Any]) -> str:
    terminal = "" in node
    branches = [re.escape(ch) + _trie_regex(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if terminal:
        return f"(?:{body})?"
    return body
