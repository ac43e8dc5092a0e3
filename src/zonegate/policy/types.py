"""Inputs and outputs of ``policy.decide``: plain frozen values, so decisions are reproducible."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Reason(StrEnum):
    """Stable reason codes; clients and audit queries depend on these strings."""

    UNKNOWN_ROUTE = "unknown_route"
    ROUTE_NOT_ALLOWED = "route_not_allowed"
    MODEL_NOT_ALLOWED = "model_not_allowed"
    UNKNOWN_DATA_CLASS = "unknown_data_class"
    CLEARANCE_EXCEEDED = "data_class_exceeds_clearance"
    PURPOSE_NOT_ALLOWED = "purpose_not_allowed"
    DATA_CLASS_EXCEEDS_ZONES = "data_class_exceeds_zones"
    JURISDICTION_NOT_ALLOWED = "jurisdiction_not_allowed"
    NO_HEALTHY_MODEL = "no_healthy_model"
    PROMPT_INJECTION = "prompt_injection_suspected"


class CandidateVerdict(StrEnum):
    KEPT = "kept"
    CEILING_TOO_LOW = "zone_ceiling_below_data_class"
    JURISDICTION = "jurisdiction_not_allowed"
    PRINCIPAL = "model_not_allowed_for_principal"
    UNHEALTHY = "unhealthy"
    INJECTION = "not_self_hosted_for_suspected_injection"


@dataclass(frozen=True, slots=True)
class ZoneView:
    name: str
    ceiling_rank: int
    region: str | None
    operator: str
    # For detected data above the ceiling: data class rank -> "redact" | "pseudonymise".
    transforms: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelView:
    model_id: str
    zone: ZoneView


@dataclass(frozen=True, slots=True)
class RouteView:
    name: str
    candidates: tuple[str, ...]
    jurisdictions: frozenset[str] | None = None
    purposes: frozenset[str] | None = None
    direct: bool = False  # a single model addressed by id, not a configured route
    injection_action: str = "flag"  # "flag" | "block" | "self_hosted_only"


@dataclass(frozen=True, slots=True)
class PrincipalView:
    principal_id: str
    team: str
    routes: frozenset[str]  # may contain "*"
    models: frozenset[str]  # may contain "*"
    clearance_rank: int
    purposes: frozenset[str]  # may contain "*"
    jurisdictions: frozenset[str] | None = None
    role: str = "user"


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """``effective_rank`` is max(declared, detected). A zone below it may still be used when every
    detected class above its ceiling has a transform there; the declared class never does."""

    principal: PrincipalView
    route_name: str
    effective_rank: int
    purpose: str | None = None
    unhealthy: frozenset[str] = frozenset()
    declared_rank: int | None = None
    finding_ranks: frozenset[int] = frozenset()
    injection_suspected: bool = False


@dataclass(frozen=True, slots=True)
class CandidateExplanation:
    model_id: str
    zone: str
    verdict: CandidateVerdict
    detail: str
    # What must be done to the data before it may go there: (data class, action) pairs.
    transforms: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Allow:
    model_id: str
    fallbacks: tuple[str, ...]
    candidates: tuple[CandidateExplanation, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Deny:
    reason: Reason
    message: str
    candidates: tuple[CandidateExplanation, ...] = field(default=())


Decision = Allow | Deny
