"""API key authentication with a short-lived cache of verified keys.

Keys are verified against their stored hash (``KeyRepository.verify``, constant-time compare).
A verified key is trusted for ``ttl`` seconds so the hot path does not read the store on every
request; a revocation therefore takes effect within ``ttl`` seconds (default 5). Failed lookups
are never cached, so a new key works at once.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

import anyio.to_thread

from zonegate.errors import AuthenticationFailed
from zonegate.store.keys import KeyInfo, KeyRepository

_MAX_CACHED = 10_000


class Authenticator:
    def __init__(self, keys: KeyRepository, *, ttl: float) -> None:
        self._keys = keys
        self._ttl = ttl
        self._cache: OrderedDict[bytes, tuple[KeyInfo, float]] = OrderedDict()

    async def authenticate(self, authorization: str | None, x_api_key: str | None) -> KeyInfo:
        presented = _presented_key(authorization, x_api_key)
        digest = hashlib.sha256(presented.encode()).digest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        info = await anyio.to_thread.run_sync(self._keys.verify, presented)
        if info is None:
            self._cache.pop(digest, None)
            raise AuthenticationFailed(
                "the API key is not valid or was revoked; create one with "
                "'zonegate keys create --principal NAME'"
            )
        if self._ttl > 0:
            self._cache[digest] = (info, now + self._ttl)
            self._cache.move_to_end(digest)
            if len(self._cache) > _MAX_CACHED:
                self._cache.popitem(last=False)
        return info


def _presented_key(authorization: str | None, x_api_key: str | None) -> str:
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed(
                "the Authorization header must be 'Bearer <api key>'", code="invalid_api_key"
            )
        return token.strip()
    if x_api_key:
        return x_api_key.strip()
    raise AuthenticationFailed(
        "no API key: send 'Authorization: Bearer <api key>' (the OpenAI SDKs do this when you "
        "set api_key)",
        code="missing_api_key",
    )
