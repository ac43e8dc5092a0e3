"""Prompt-injection and jailbreak detection: named rules plus a small shipped classifier.

``InjectionScorer.load()`` once, then ``scorer.score(text, source="direct" | "indirect")`` per
text, or ``score_request`` for a chat request. See ``scorer`` for how the parts combine.
"""

from zonegate.guards.injection.model_file import ModelFileError
from zonegate.guards.injection.request import RequestVerdict, score_request
from zonegate.guards.injection.scorer import (
    InjectionScorer,
    InjectionVerdict,
    Label,
    Source,
    rule_signals,
)

__all__ = [
    "InjectionScorer",
    "InjectionVerdict",
    "Label",
    "ModelFileError",
    "RequestVerdict",
    "Source",
    "rule_signals",
    "score_request",
]
