"""Injection verdicts for a whole chat request, the caller's turn and indirect content apart.

``direct`` covers what the caller wrote: user messages and the assistant turns the caller sent
back as history. ``indirect`` covers what arrived from elsewhere: tool and function results.
System and developer messages are the application's own instructions and are not scored (they
are full of instructions by design; the benchmark shows how often the classifier flags such
text). Each part's verdict is its highest-scoring text, with the rule ids of all its texts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zonegate.guards.injection.scorer import (
    INJECTION_AT,
    InjectionScorer,
    InjectionVerdict,
    Source,
    label_for,
)
from zonegate.wire.openai_chat import ChatCompletionRequest

_DIRECT_ROLES = frozenset({"user", "assistant"})
_INDIRECT_ROLES = frozenset({"tool", "function"})


@dataclass(frozen=True, slots=True)
class RequestVerdict:
    """``None`` for a part that has no text (no tool results, say)."""

    direct: InjectionVerdict | None
    indirect: InjectionVerdict | None

    @property
    def top(self) -> float:
        """The highest score of either part (0 when nothing was scored)."""
        return max((v.score for v in (self.direct, self.indirect) if v is not None), default=0.0)

    def suspected(self, threshold: float | None = None) -> bool:
        """Whether either part reaches ``threshold`` (the 'injection' label's by default)."""
        return self.top >= (INJECTION_AT if threshold is None else threshold)

    def to_audit(self) -> dict[str, object]:
        return {
            "direct": self.direct.to_audit() if self.direct else None,
            "indirect": self.indirect.to_audit() if self.indirect else None,
        }


def merge(verdicts: Iterable[InjectionVerdict]) -> InjectionVerdict | None:
    """The highest-scoring verdict, carrying the rule ids of all of them."""
    items = list(verdicts)
    if not items:
        return None
    top = max(items, key=lambda v: v.score)
    rules = tuple(sorted({r for v in items for r in v.rules}))
    return InjectionVerdict(top.score, rules, label_for(top.score), top.classifier)


def score_texts(
    scorer: InjectionScorer, texts: Iterable[str], source: Source
) -> InjectionVerdict | None:
    return merge(scorer.score(t, source=source) for t in texts if t)


def score_request(scorer: InjectionScorer, request: ChatCompletionRequest) -> RequestVerdict:
    """Verdicts for the caller's own turn and for tool results, scored separately."""
    direct = [m.text() for m in request.messages if m.role in _DIRECT_ROLES]
    indirect = [m.text() for m in request.messages if m.role in _INDIRECT_ROLES]
    return RequestVerdict(
        score_texts(scorer, direct, "direct"), score_texts(scorer, indirect, "indirect")
    )
