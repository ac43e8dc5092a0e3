"""Explanations: what the gateway would do with a request, and why, without sending it anywhere.

Runs the same classification and the same ``decide`` as the request path. Findings are reported
by type, count and span, never by value, so an explanation is safe to print or share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from zonegate.config.schema import Config
from zonegate.guards.base import Detector
from zonegate.guards.classify import Classification, Classifier, collect_texts
from zonegate.guards.injection import InjectionScorer
from zonegate.guards.injection.request import RequestVerdict, score_request, score_texts
from zonegate.policy.classes import DataClasses
from zonegate.policy.decide import decide, evaluate_candidates
from zonegate.policy.types import (
    Allow,
    CandidateExplanation,
    CandidateVerdict,
    Decision,
    PolicyInput,
)
from zonegate.policy.views import build_views, principal_view, route_for
from zonegate.wire.openai_chat import ChatCompletionRequest

EXPLAIN_PRINCIPAL = "explain"


@dataclass(frozen=True, slots=True)
class FindingSummary:
    """All findings of one type: how many, the highest class they imply, and where."""

    type: str
    data_class: str
    count: int
    spans: tuple[tuple[int, int, int], ...]  # (text index, start, end)


@dataclass(frozen=True, slots=True)
class Explanation:
    route: str
    team: str
    purpose: str | None
    texts_scanned: int
    findings: tuple[FindingSummary, ...]
    declared_class: str | None
    detected_class: str | None
    effective_class: str
    decision: Decision
    candidates: tuple[CandidateExplanation, ...]
    candidates_reached: bool  # False: the decision was made before any candidate was considered
    injection: dict[str, object] | None = None  # verdicts as audited: scores, labels, rule ids

    @property
    def allowed(self) -> bool:
        return isinstance(self.decision, Allow)


def _texts(request: str | Sequence[str] | Mapping[str, Any]) -> list[str]:
    if isinstance(request, str):
        return [request]
    if isinstance(request, Mapping):
        return collect_texts(request)
    return list(request)


def _summaries(classification: Classification, classes: DataClasses) -> tuple[FindingSummary, ...]:
    spans: dict[str, list[tuple[int, int, int]]] = {}
    ranks: dict[str, int] = {}
    for item in classification.findings:
        f = item.finding
        spans.setdefault(f.type, []).append((item.text_index, f.start, f.end))
        ranks[f.type] = max(ranks.get(f.type, 0), classes.rank(f.data_class))
    return tuple(
        FindingSummary(t, classes.name(ranks[t]), len(s), tuple(s))
        for t, s in sorted(spans.items())
    )


def explain_request(
    config: Config,
    request: str | Sequence[str] | Mapping[str, Any],
    *,
    route: str,
    team: str,
    declared_class: str | None = None,
    purpose: str | None = None,
    detectors: Iterable[Detector],
    injection: InjectionScorer | None = None,
) -> Explanation:
    """Classify ``request`` (text, texts, or an OpenAI request body) and decide it for ``team``.

    Raises ``UnknownDataClass`` for an unknown ``declared_class``, ``PermissionDenied`` for an
    unknown team and ``ServiceUnavailable`` if a detector fails, as the gateway would.
    """
    views = build_views(config)
    classes = views.classes
    texts = _texts(request)
    classification = Classifier(detectors, classes).classify(texts)
    declared_rank = None if declared_class is None else classes.rank(declared_class)
    effective = classes.max_rank(declared_rank, classification.max_rank)
    principal = principal_view(config, classes, EXPLAIN_PRINCIPAL, team)
    verdicts, suspected = _injection(config, request, texts, route, injection)
    decision = decide(
        PolicyInput(
            principal,
            route,
            effective,
            purpose,
            declared_rank=declared_rank,
            finding_ranks=classification.ranks,
            injection_suspected=suspected,
        ),
        views,
    )
    candidates = decision.candidates
    reached = bool(candidates)
    route_view = route_for(views, route)
    if not reached and route_view is not None:
        candidates = evaluate_candidates(route_view, principal, effective, frozenset(), views)
    detected = classification.max_rank
    return Explanation(
        route=route,
        team=team,
        purpose=purpose,
        texts_scanned=len(texts),
        findings=_summaries(classification, classes),
        declared_class=declared_class,
        detected_class=None if detected is None else classes.name(detected),
        effective_class=classes.name(effective),
        decision=decision,
        candidates=candidates,
        candidates_reached=reached,
        injection=verdicts,
    )


def _injection(
    config: Config,
    request: str | Sequence[str] | Mapping[str, Any],
    texts: list[str],
    route: str,
    scorer: InjectionScorer | None,
) -> tuple[dict[str, object] | None, bool]:
    """The injection verdicts as the gateway would record them, and whether they cross the
    route's threshold. A request body is scored by role; plain texts as the caller's turn."""
    if scorer is None:
        return None, False
    try:
        body = (
            ChatCompletionRequest.model_validate(request) if isinstance(request, Mapping) else None
        )
    except ValidationError:
        body = None  # not a chat request: score its texts as the caller's own
    if body is not None:
        verdict = score_request(scorer, body)
    else:
        verdict = RequestVerdict(score_texts(scorer, texts, "direct"), None)
    route_config = config.routes.get(route)
    suspected = verdict.suspected(
        route_config.injection.threshold if route_config is not None else None
    )
    return verdict.to_audit(), suspected


def decision_summary(decision: Decision) -> dict[str, Any]:
    if isinstance(decision, Allow):
        return {
            "outcome": "allow",
            "model": decision.model_id,
            "fallbacks": list(decision.fallbacks),
        }
    return {"outcome": "deny", "reason": str(decision.reason), "message": decision.message}


def to_json(explanation: Explanation) -> dict[str, Any]:
    """A JSON-ready dict of the explanation (no matched values, only types, counts, spans)."""
    e = explanation
    return {
        "route": e.route,
        "team": e.team,
        "purpose": e.purpose,
        "classification": {
            "texts_scanned": e.texts_scanned,
            "declared_class": e.declared_class,
            "detected_class": e.detected_class,
            "effective_class": e.effective_class,
            "findings": [
                {
                    "type": f.type,
                    "data_class": f.data_class,
                    "count": f.count,
                    "spans": [{"text": t, "start": s, "end": n} for t, s, n in f.spans],
                }
                for f in e.findings
            ],
        },
        "injection": e.injection,
        "decision": decision_summary(e.decision),
        "candidates_reached": e.candidates_reached,
        "candidates": [
            {
                "model": c.model_id,
                "zone": c.zone,
                "verdict": str(c.verdict),
                "kept": c.verdict is CandidateVerdict.KEPT,
                "detail": c.detail,
            }
            for c in e.candidates
        ],
    }


def render_text(explanation: Explanation) -> str:
    """A plain-text rendering for terminals and logs."""
    e = explanation
    lines = [f"route: {e.route}  team: {e.team}  purpose: {e.purpose or '-'}"]
    lines.append(
        f"classification: declared {e.declared_class or '-'}, detected "
        f"{e.detected_class or '-'}, effective {e.effective_class} "
        f"({e.texts_scanned} texts scanned)"
    )
    if not e.findings:
        lines.append("  no findings")
    for f in e.findings:
        where = ", ".join(f"text {t} [{s}:{n}]" for t, s, n in f.spans)
        lines.append(f"  {f.type} -> {f.data_class}: {f.count} ({where})")
    lines.extend(injection_lines(e.injection))
    d = e.decision
    if isinstance(d, Allow):
        fallbacks = ", ".join(d.fallbacks) or "none"
        lines.append(f"decision: allow {d.model_id} (fallbacks: {fallbacks})")
    else:
        lines.append(f"decision: deny {d.reason}: {d.message}")
    if e.candidates:
        heading = "candidates:" if e.candidates_reached else "candidates (not reached):"
        lines.append(heading)
        for i, c in enumerate(e.candidates, 1):
            state = "kept" if c.verdict is CandidateVerdict.KEPT else f"dropped ({c.verdict})"
            lines.append(f"  {i}. {c.model_id} [zone {c.zone}] {state}: {c.detail}")
    return "\n".join(lines)


def injection_lines(verdicts: Mapping[str, object] | None) -> list[str]:
    """One line per scored part: score, label and the rule ids that matched."""
    if verdicts is None:
        return []
    lines = []
    for part in ("direct", "indirect"):
        v = verdicts.get(part)
        if isinstance(v, Mapping):
            rules = ", ".join(str(r) for r in v.get("rules", ())) or "no rules"
            lines.append(f"injection ({part}): {v['label']} score {v['score']} ({rules})")
    return lines
