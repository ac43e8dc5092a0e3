"""Small builders for policy tests: a config, and views over hand-made zones and routes."""

from __future__ import annotations

from typing import Any

from zonegate.config.schema import Config
from zonegate.policy.types import PrincipalView

CLASSES = ["public", "internal", "confidential", "restricted"]
PUBLIC, INTERNAL, CONFIDENTIAL, RESTRICTED = range(4)


def model(zone: str) -> dict[str, Any]:
    return {"zone": zone, "provider": {"type": "llamacpp"}}


def config(**overrides: Any) -> Config:
    """Zones local (restricted, eu), eu-vendor (confidential, eu), us-vendor (internal, us),
    nowhere (restricted, no region); one model in each; route 'assistant' over all of them."""
    raw: dict[str, Any] = {
        "data_classes": CLASSES,
        "zones": {
            "local": {"ceiling": "restricted", "region": "eu"},
            "eu-vendor": {"ceiling": "confidential", "operator": "acme", "region": "eu"},
            "us-vendor": {"ceiling": "internal", "operator": "acme", "region": "us"},
            "nowhere": {"ceiling": "restricted"},
        },
        "models": {
            "local-m": model("local"),
            "eu-m": model("eu-vendor"),
            "us-m": model("us-vendor"),
            "nowhere-m": model("nowhere"),
        },
        "routes": {
            "assistant": {"candidates": ["us-m", "eu-m", "local-m"]},
            "vendors": {"candidates": ["us-m", "eu-m"]},
            "us-only": {"candidates": ["us-m"]},
            "eu-route": {"candidates": ["us-m", "nowhere-m", "eu-m"], "jurisdictions": ["eu"]},
            "tickets": {"candidates": ["local-m"], "purposes": ["ticket-summary", "triage"]},
        },
        "teams": {"default": {"routes": ["*"], "models": ["*"]}},
    }
    raw.update(overrides)
    return Config.model_validate(raw)


def principal(
    *,
    routes: frozenset[str] = frozenset({"*"}),
    models: frozenset[str] = frozenset({"*"}),
    clearance: int = RESTRICTED,
    purposes: frozenset[str] = frozenset({"*"}),
    jurisdictions: frozenset[str] | None = None,
    team: str = "support",
) -> PrincipalView:
    return PrincipalView(
        principal_id="key-1",
        team=team,
        routes=routes,
        models=models,
        clearance_rank=clearance,
        purposes=purposes,
        jurisdictions=jurisdictions,
    )
