"""The shapes every part of evaluation shares: suite items, scores, and the scorer protocol.

A suite is data (``zonegate.evals.suite`` loads and versions it); a scorer turns one model output
for one item into a ``Score``; a run (``zonegate.evals.runner``) records outputs and scores per
item and attempt. Scorers are found through the ``zonegate.scorers`` entry points, the same seam
as providers and detectors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Item:
    """One gold task. ``messages`` are OpenAI chat messages (a suite's ``prompt`` becomes one
    user message); ``reference`` is the expected answer, ``rubric`` guidance for a judge."""

    id: str
    messages: tuple[Mapping[str, Any], ...]
    reference: Any = None
    rubric: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScorerSpec:
    """A scorer named in ``suite.yaml``: its entry-point name and its options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Suite:
    """A versioned set of items. ``version`` is the SHA-256 of the canonical content, so any
    edit (an item, a scorer option, a default parameter) makes a new version."""

    name: str
    description: str
    version: str
    scorers: tuple[ScorerSpec, ...]
    items: tuple[Item, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)  # e.g. temperature, max_tokens
    route: str | None = None  # the workload the suite stands for
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Score:
    """One scorer's verdict on one output: pass/fail, a value (1.0/0.0 or graded) and why."""

    scorer: str
    passed: bool
    value: float
    explanation: str


# A judge: sends chat messages to a pinned model through the gateway and returns its text.
Judge = Callable[[list[dict[str, Any]]], Awaitable[str]]


@runtime_checkable
class Scorer(Protocol):
    """Built from a ``ScorerSpec``'s options as ``Cls(**options)``; ``name`` is its entry point.

    ``needs_judge`` scorers receive a ``Judge``; the others get ``None``. Raise ``ValueError`` in
    the constructor for bad options (the suite loader reports it with the suite's path).
    """

    name: str
    needs_judge: bool

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score: ...
