"""The machinery of the rule layer: named, gated, linear-time patterns.

A rule's pattern is built from phrase alternations (``any_of("ignore|set aside")``) joined by
word gaps. Word gaps use disjoint character classes (``[^\\W_]+`` words, ``[\\W_]+``
separators) with bounded repetition, so every pattern runs in time linear in the text length.
Each alternation also knows its first words, which gives every rule two cheap pre-checks: gates
(word sets the text must share) and leads (the words a match can start at, so the pattern is
tried there only instead of at every position).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

SEP: Final = r"[\W_]+"  # separator: one run of non-word characters
WORD: Final = r"[^\W_]+"  # one word
_WORD: Final = re.compile(WORD)


def gap(n: int) -> str:
    """Up to ``n`` whole words between two anchors (lazy), ending on a separator."""
    return rf"{SEP}(?:{WORD}{SEP}){{0,{n}}}?"


def _words(text: str) -> str:
    """A phrase whose spaces match any separator run: ``"set aside"`` -> ``set[\\W_]+aside``."""
    return re.escape(text).replace(r"\ ", SEP)


@dataclass(frozen=True, slots=True)
class Phrases:
    """An alternation of phrases (formats as its regex) and the set of their first words."""

    regex: str
    firsts: frozenset[str]

    def __format__(self, spec: str) -> str:
        return self.regex


def any_of(phrases: str) -> Phrases:
    """``"ignore|set aside"``: alternatives separated by ``|``."""
    alternatives = phrases.split("|")
    return Phrases(
        "(?:" + "|".join(_words(p) for p in alternatives) + ")",
        frozenset(_WORD.findall(p)[0] for p in alternatives),
    )


def set_of(*words: str) -> frozenset[str]:
    return frozenset(words)


@dataclass(frozen=True, slots=True)
class Rule:
    """One named pattern.

    ``gates``: word sets that must each share a word with the text, or the pattern is not tried
    (a cheap necessary condition: most texts skip most rules). ``lead``: the words a match can
    start with; the pattern is then tried only where one of them occurs (anchored ``match``),
    not at every position. ``per_line``: the pattern is anchored at a line start and is tried
    once per line. ``exclude``: a match whose text also matches it is not counted.
    """

    id: str
    direct: float
    indirect: float
    pattern: re.Pattern[str]
    gates: tuple[frozenset[str], ...] = ()
    lead: frozenset[str] | None = None
    exclude: re.Pattern[str] | None = None
    per_line: bool = False

    def _accept(self, m: re.Match[str] | None) -> bool:
        return m is not None and (self.exclude is None or not self.exclude.search(m.group()))

    def matches(self, view: str, words: frozenset[str], lines: list[str]) -> bool:
        """Whether the rule fires on ``view``, a phrase view with these ``words`` and ``lines``."""
        for gate in self.gates:
            if gate.isdisjoint(words):
                return False
        if self.per_line:
            return any(self._accept(self.pattern.match(line)) for line in lines)
        if self.lead is None:
            return any(self._accept(m) for m in self.pattern.finditer(view))
        match = self.pattern.match
        for word in self.lead & words:
            at = view.find(word)
            while at >= 0:
                if self._accept(match(view, at)):
                    return True
                at = view.find(word, at + 1)
        return False

    def weight(self, indirect: bool) -> float:
        return self.indirect if indirect else self.direct


def make_rule(
    rule_id: str,
    direct: float,
    indirect: float,
    pattern: str,
    *gates: frozenset[str],
    lead: frozenset[str] | None = None,
    exclude: str | None = None,
    per_line: bool = False,
) -> Rule:
    return Rule(
        rule_id,
        direct,
        indirect,
        re.compile(pattern),
        gates,
        lead,
        re.compile(exclude) if exclude else None,
        per_line,
    )


def match_rules(view: str, words: frozenset[str], rules: tuple[Rule, ...]) -> list[Rule]:
    """The rules of ``rules`` that match ``view`` (a phrase view with ``words``), in order."""
    lines = view.splitlines()
    return [rule for rule in rules if rule.matches(view, words, lines)]
