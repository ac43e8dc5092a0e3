"""What the Gemini provider's test modules share beyond ``vendor_support``: building providers
against the upstream process and reading the upstream's records."""

from __future__ import annotations

import json
from typing import Any

from tests.providers.conftest import gemini_base_url, gemini_config, resolve_secret
from tests.providers.vendor_support import StartedProviders
from tests.support.processes import Upstream
from zonegate.providers.gemini import GeminiProvider

MODEL = "gemini-2.5-flash-001"
GeminiProviders = StartedProviders[GeminiProvider]


def gemini_providers(upstream: Upstream) -> GeminiProviders:
    """Gemini providers against the upstream's Gemini-style API (or another base URL)."""

    def build(base_url: str, model: str, settings: dict[str, Any]) -> GeminiProvider:
        config = gemini_config(base_url, model, **settings)
        return GeminiProvider("gemini-test", config, resolve_secret)

    return StartedProviders(build, gemini_base_url(upstream), MODEL)


def received_with(upstream: Upstream, text: str) -> dict[str, Any]:
    """The one Gemini request whose contents hold ``text``."""
    [record] = [
        r
        for r in upstream.received()
        if "/models/" in r["path"] and text in json.dumps((r["body"] or {}).get("contents", ""))
    ]
    return record
