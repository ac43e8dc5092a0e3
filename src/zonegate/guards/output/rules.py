"""Which output findings the caller may not see, and what happens to them.

"Secrets" are the findings of credential detectors: the types in ``SECRET_TYPES``, plus any
detector (a plugin's, a custom one) that sets ``secret = True`` on itself. "PII" is any other
finding whose data class ranks above the caller's clearance. Each kind has its own action from
the route's ``output`` settings: ``allow``, ``redact`` (typed ``[REDACTED_<TYPE>]`` placeholders)
or ``block`` (the whole answer is refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from zonegate.guards.base import Detector, Finding

ALLOW = "allow"
REDACT = "redact"
BLOCK = "block"

# The built-in credential and secret detectors, in one place.
SECRET_TYPES = frozenset(
    {
        "private_key", "aws_access_key", "api_key", "github_token", "gitlab_token",
        "slack_token", "stripe_key", "twilio_key", "google_api_key", "gcp_service_account",
        "azure_key", "jwt", "url_password", "connection_string_password", "secret_assignment",
    }
)  # fmt: skip


def secret_types(detectors: Iterable[Detector]) -> frozenset[str]:
    """``SECRET_TYPES`` plus the types of detectors marked ``secret = True``."""
    marked = {d.type for d in detectors if getattr(d, "secret", False) is True}
    return SECRET_TYPES | marked


class Hit(NamedTuple):
    """A span of output the caller may not see, and what to do with it."""

    start: int
    end: int
    type: str
    action: str  # REDACT or BLOCK


@dataclass(frozen=True, slots=True)
class OutputRules:
    """The output settings of one route for one caller, resolved to what a scan needs."""

    secrets: str
    pii: str
    secret_types: frozenset[str]
    ranks: Mapping[str, int]  # data class -> rank
    clearance_rank: int

    @property
    def active(self) -> bool:
        """Whether any finding could be acted on (otherwise output is not scanned at all)."""
        if self.secrets != ALLOW:
            return True
        return self.pii != ALLOW and any(r > self.clearance_rank for r in self.ranks.values())

    def action(self, finding: Finding) -> str:
        if finding.type in self.secret_types:
            return self.secrets
        rank = self.ranks.get(finding.data_class)
        if rank is None or rank > self.clearance_rank:  # unknown class: fail closed
            return self.pii
        return ALLOW

    def hits(self, findings: Iterable[Finding]) -> list[Hit]:
        out: list[Hit] = []
        for finding in findings:
            action = self.action(finding)
            if action != ALLOW:
                out.append(Hit(finding.start, finding.end, finding.type, action))
        return out
