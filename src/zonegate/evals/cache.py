"""The output cache: a model's answer to an identical request is reused instead of paid again.

The key is the SHA-256 of (deployment identity, parameters, item content, attempt number):

- **Deployment identity**, not the served model id: the served id (the response's ``model``) is
  known only after a call, and the cache must answer before one. The identity is the
  configured model id plus everything pinned in its provider config that decides what answers
  (upstream model name, base URL, weights path and SHA-256, seed, API version...) and its
  ``version``; timeouts, connection limits and credential references are left out. A route's
  identity is its ordered candidates' identities, so re-pinning or re-ordering them invalidates
  its entries. The served model, model id and fingerprint are stored with each entry.
- **Fingerprint, when known**: once a live call in this run reports a ``system_fingerprint``,
  only entries recorded under that same fingerprint are reused (the vendor changed its backend
  otherwise). Before that, and for upstreams that report none, any entry for the key is.
- **Parameters**: the request's effective parameters (suite defaults plus overrides).
- **Item content**: the messages sent, canonically encoded (so renaming an item keeps its
  entries; editing its prompt does not). Reference answers and rubrics are not part of it:
  scoring is always redone, the cache holds outputs only.
- **Attempt number**: repeats are separate samples, so attempt 2 never reuses attempt 1's answer.

Errors are never cached. ``--no-cache`` (drift runs) skips lookups; fresh answers are still
stored, so the cache keeps the newest answer for the next cached run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from zonegate.audit.chain import canonical_text
from zonegate.config.schema import Config, ModelConfig
from zonegate.evals.types import Item
from zonegate.store.eval_repo import CachedOutput, EvalRepository

# Provider settings that change how a model is reached, not what it answers.
_OPERATIONAL = frozenset(
    {
        "api_key",
        "headers",
        "timeouts",
        "max_connections",
        "max_response_bytes",
        "max_concurrency",
        "n_threads",
        "n_ctx",
    }
)


def deployment_identity(model_id: str, model: ModelConfig) -> dict[str, Any]:
    """What pins one configured model: its id, version and output-relevant provider settings."""
    provider = model.provider.model_dump(mode="json")
    pinned = {k: v for k, v in sorted(provider.items()) if k not in _OPERATIONAL}
    return {"model": model_id, "version": model.version, "provider": pinned}


def target_identity(config: Config, name: str) -> dict[str, Any]:
    """The identity of what ``name`` (a route or a model id, routes first as the gateway
    resolves them) would be served by."""
    route = config.routes.get(name)
    if route is not None:
        return {
            "route": name,
            "candidates": [
                deployment_identity(c, config.models[c])
                for c in route.candidates
                if c in config.models
            ],
        }
    model = config.models.get(name)
    if model is not None:
        return deployment_identity(name, model)
    return {"unknown": name}  # the gateway refuses it; nothing is cached for errors anyway


def item_content_hash(item: Item) -> str:
    """SHA-256 of the messages an item sends, canonically encoded."""
    return hashlib.sha256(canonical_text(list(item.messages)).encode()).hexdigest()


def cache_key(
    identity: Mapping[str, Any], parameters: Mapping[str, Any], item: Item, attempt: int
) -> str:
    payload = {
        "identity": identity,
        "parameters": parameters,
        "item": item_content_hash(item),
        "attempt": attempt,
    }
    return hashlib.sha256(canonical_text(payload).encode()).hexdigest()


class ResultCache:
    """Lookups and stores for one run; remembers the fingerprint its live calls report."""

    def __init__(self, repo: EvalRepository, *, read: bool) -> None:
        self._repo = repo
        self._read = read
        self._fingerprint: str | None = None

    @property
    def reads(self) -> bool:
        return self._read

    def observe(self, fingerprint: str | None) -> None:
        """A live answer's fingerprint: from now on only entries made under it are reused."""
        if fingerprint:
            self._fingerprint = fingerprint

    def get(self, key: str) -> CachedOutput | None:
        if not self._read:
            return None
        return self._repo.cache_get(key, fingerprint=self._fingerprint)

    def put(self, entry: CachedOutput) -> None:
        self._repo.cache_put(entry)
