"""Prompt-injection scoring: rules and the classifier, combined into one verdict.

How the parts combine. Every signal is a number in 0..1:

- each rule or hidden-text signal that fires contributes its weight for the text's source
  (``direct``: the caller's own turn; ``indirect``: tool results, documents, retrieved text);
- the classifier contributes its score, shifted so that its tuned decision threshold is 0.5;
  it reads the text and any base64, hex or tag-character payload decoded from it, and the
  highest of those counts.

They are combined as independent pieces of evidence (noisy-OR)::

    score = 1 - (1 - classifier) * product(1 - weight for each signal that fired)

so one strong rule (weight >= 0.5) or a confident classifier alone makes an injection, and two
weak signals together can. Labels: ``injection`` at score >= 0.5, ``suspicious`` at >= 0.25,
else ``benign``. Scoring is pure: the same text and source give the same verdict, and nothing
is kept between calls except the loaded model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from zonegate.guards.injection.classifier import InjectionClassifier
from zonegate.guards.injection.hidden import SIGNAL_WEIGHTS, payloads, unicode_signals
from zonegate.guards.injection.rules import PHRASE_RULES, STRUCTURE_RULES, match_rules
from zonegate.guards.injection.views import clean, phrase_view, words

Label = Literal["benign", "suspicious", "injection"]
Source = Literal["direct", "indirect"]

INJECTION_AT: Final = 0.5
SUSPICIOUS_AT: Final = 0.25
_ALL_RULES: Final = PHRASE_RULES + STRUCTURE_RULES
# Decoded payloads the classifier also scores (rot13 and reversed views are whole-text guesses).
_READABLE: Final = frozenset({"encoding.base64", "encoding.hex", "unicode.tag_characters"})


@dataclass(frozen=True, slots=True)
class InjectionVerdict:
    """The judgement on one text. ``rules`` are ids (never text), so a verdict may be logged."""

    score: float
    rules: tuple[str, ...]
    label: Label
    classifier: float

    def to_audit(self) -> dict[str, object]:
        return {
            "score": self.score,
            "label": self.label,
            "rules": list(self.rules),
            "classifier": self.classifier,
        }


def label_for(score: float) -> Label:
    if score >= INJECTION_AT:
        return "injection"
    if score >= SUSPICIOUS_AT:
        return "suspicious"
    return "benign"


def combine(classifier: float, weights: Iterable[float]) -> float:
    """Noisy-OR of the classifier score and the weights of the signals that fired."""
    keep = 1.0 - classifier
    for weight in weights:
        keep *= 1.0 - weight
    return 1.0 - keep


@dataclass(frozen=True, slots=True)
class Signals:
    """What the rule layer found: signal ids with weights, and decoded hidden text."""

    hits: dict[str, float]
    hidden: tuple[str, ...]


def analyse(text: str, *, source: Source = "direct") -> Signals:
    """Rule and hidden-text signals on ``text`` (with weights for ``source``), and the decoded
    payloads (base64, hex, tag characters) that the classifier should also read."""
    indirect = source == "indirect"
    cleaned = clean(text)
    view = phrase_view(cleaned)
    vocab = words(view)
    hits: dict[str, float] = {}
    for signal in unicode_signals(text):
        hits[signal] = SIGNAL_WEIGHTS[signal][indirect]
    for rule in match_rules(view, vocab, _ALL_RULES):
        if rule.weight(indirect) > 0:
            hits[rule.id] = rule.weight(indirect)
    found = payloads(text, cleaned, view, vocab)
    for payload in found:
        hidden_view = phrase_view(clean(payload.text))
        inner = match_rules(hidden_view, words(hidden_view), _ALL_RULES)
        inner = [r for r in inner if r.weight(indirect) > 0]
        if not inner:
            continue
        hits[payload.kind] = SIGNAL_WEIGHTS[payload.kind][indirect]
        for rule in inner:
            hits[rule.id] = max(hits.get(rule.id, 0.0), rule.weight(indirect))
    hidden = tuple(p.text for p in found if p.kind in _READABLE)
    return Signals(hits, hidden)


def rule_signals(text: str, *, source: Source = "direct") -> dict[str, float]:
    """The rule and hidden-text signals that fire on ``text``, with their weights."""
    return analyse(text, source=source).hits


class InjectionScorer:
    """Rules plus the shipped classifier. Build once (``load``), share across requests."""

    __slots__ = ("classifier",)

    def __init__(self, classifier: InjectionClassifier) -> None:
        self.classifier = classifier

    @classmethod
    def load(cls) -> InjectionScorer:
        """With the model shipped in the package (``ModelFileError`` if it is missing)."""
        return cls(InjectionClassifier.load())

    @classmethod
    def from_path(cls, path: Path) -> InjectionScorer:
        return cls(InjectionClassifier.from_path(path))

    def classifier_score(self, text: str, hidden: Iterable[str] = ()) -> float:
        """The classifier's score of ``text`` or of any decoded hidden payload, the highest."""
        return max([self.classifier.score(text), *(self.classifier.score(h) for h in hidden)])

    def score(self, text: str, *, source: Source = "direct") -> InjectionVerdict:
        """The verdict on ``text`` as content of the given ``source``."""
        found = analyse(text, source=source)
        clf = self.classifier_score(text, found.hidden)
        total = round(combine(clf, found.hits.values()), 4)
        return InjectionVerdict(total, tuple(sorted(found.hits)), label_for(total), round(clf, 4))
