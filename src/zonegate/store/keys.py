"""API keys: created once, stored only as a hash, checked in constant time.

A key reads ``zg_<key_id>_<secret>``: the key id (32 hex digits, a UUIDv7) finds the row in one
indexed lookup, and the secret is 32 random bytes (43 URL-safe characters). Only the SHA-256 of
the whole key is stored. A fast hash is the right choice here: password hashing (bcrypt, argon2)
exists to slow down guessing low-entropy secrets, and a 256-bit random secret cannot be guessed
however fast the hash, while a slow hash would cost every request milliseconds.

Every create and revoke also appends an admin event (before/after, never the secret) in the same
transaction, so the admin trail cannot miss a change and a change cannot happen without it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from zonegate.audit.record import AdminEvent
from zonegate.errors import InvalidRequest, NotFound
from zonegate.ids import new_id, uuid7
from zonegate.store.audit_repo import append_admin_events
from zonegate.store.db import Database
from zonegate.store.tables import api_keys

ROLES = ("admin", "user")
KEY_PREFIX = "zg_"
_KEY = re.compile(r"^zg_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:/+-]{0,127}$")


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is known about a key without its secret."""

    key_id: str
    principal: str
    team: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    last4: str

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def display(self) -> str:
        """A recognisable but useless form of the key: ``zg_<key_id>_...abcd``."""
        return f"{KEY_PREFIX}{self.key_id}_...{self.last4}"

    def public(self) -> dict[str, Any]:
        """JSON-ready fields (no secret, no hash)."""
        return {
            "key_id": self.key_id,
            "principal": self.principal,
            "team": self.team,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
            "display": self.display,
        }


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: ``secret`` is the whole plaintext key, shown once and never stored."""

    key_id: str
    secret: str
    info: KeyInfo


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_key_id(value: str) -> str | None:
    """The key id of a well-formed key (or of a bare key id), else None."""
    match = _KEY.match(value)
    if match:
        return match.group(1)
    bare = value.removeprefix(KEY_PREFIX)
    return bare if re.fullmatch(r"[0-9a-f]{32}", bare) else None


class KeyRepository:
    """Create, verify, list and revoke API keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, principal: str, team: str = "default", role: str = "user", *, actor: str = "cli"
    ) -> CreatedKey:
        if not _PRINCIPAL.match(principal):
            raise InvalidRequest(
                f"invalid principal {principal!r}: use 1-128 letters, digits and . _ @ : / + -, "
                "starting with a letter or digit",
                code="invalid_principal",
            )
        if not team:
            raise InvalidRequest("a key needs a team", code="invalid_team")
        if role not in ROLES:
            raise InvalidRequest(
                f"unknown role {role!r} (known: {', '.join(ROLES)})", code="invalid_role"
            )
        key_id = uuid7().hex
        secret_part = secrets.token_urlsafe(32)
        key = f"{KEY_PREFIX}{key_id}_{secret_part}"
        info = KeyInfo(
            key_id=key_id,
            principal=principal,
            team=team,
            role=role,
            created_at=datetime.now(UTC),
            revoked_at=None,
            last4=secret_part[-4:],
        )
        with self._db.write_transaction() as conn:
            conn.execute(
                api_keys.insert().values(
                    key_id=key_id,
                    secret_hash=hash_key(key),
                    last4=info.last4,
                    principal=principal,
                    team=team,
                    role=role,
                    created_at=info.created_at,
                    revoked_at=None,
                )
            )
            _record(conn, actor, "key.create", key_id, None, info)
        return CreatedKey(key_id=key_id, secret=key, info=info)

    def verify(self, presented: str) -> KeyInfo | None:
        """The key's info if ``presented`` is a valid, unrevoked key, else None."""
        match = _KEY.match(presented)
        if not match:
            return None
        with self._db.engine.connect() as conn:
            row = (
                conn.execute(select(api_keys).where(api_keys.c.key_id == match.group(1)))
                .mappings()
                .first()
            )
        if row is None:
            return None
        if not hmac.compare_digest(hash_key(presented), str(row["secret_hash"])):
            return None
        info = _info(row)
        return info if info.active else None

    def get(self, key_id: str) -> KeyInfo | None:
        parsed = parse_key_id(key_id)
        if parsed is None:
            return None
        with self._db.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == parsed)).mappings()
            first = row.first()
        return None if first is None else _info(first)

    def list(self) -> list[KeyInfo]:
        """Every key, oldest first (revoked ones included)."""
        with self._db.engine.connect() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.key_id)).mappings().all()
        return [_info(r) for r in rows]

    def revoke(self, key_id: str, *, actor: str = "cli") -> KeyInfo:
        """Revoke a key (idempotent: revoking a revoked key changes nothing)."""
        parsed = parse_key_id(key_id)
        unknown = NotFound(
            f"no API key with id {key_id!r}; `zonegate keys list` shows the key ids",
            code="key_not_found",
        )
        if parsed is None:
            raise unknown
        with self._db.write_transaction() as conn:
            row = (
                conn.execute(select(api_keys).where(api_keys.c.key_id == parsed)).mappings().first()
            )
            if row is None:
                raise unknown
            before = _info(row)
            if not before.active:
                return before
            now = datetime.now(UTC)
            conn.execute(
                api_keys.update().where(api_keys.c.key_id == parsed).values(revoked_at=now)
            )
            after = replace(before, revoked_at=now)
            _record(conn, actor, "key.revoke", parsed, before, after)
        return after

    def has_admin(self) -> bool:
        """Whether any unrevoked admin key exists (first start creates one when not)."""
        with self._db.engine.connect() as conn:
            found = conn.execute(
                select(api_keys.c.key_id)
                .where(api_keys.c.role == "admin", api_keys.c.revoked_at.is_(None))
                .limit(1)
            ).first()
        return found is not None


def _info(row: RowMapping) -> KeyInfo:
    return KeyInfo(
        key_id=row["key_id"],
        principal=row["principal"],
        team=row["team"],
        role=row["role"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last4=row["last4"],
    )


def _record(
    conn: Connection,
    actor: str,
    action: str,
    key_id: str,
    before: KeyInfo | None,
    after: KeyInfo | None,
) -> None:
    append_admin_events(
        conn,
        [
            AdminEvent(
                event_id=new_id(),
                at=datetime.now(UTC),
                actor=actor,
                action=action,
                subject=f"api_key:{key_id}",
                before=None if before is None else before.public(),
                after=None if after is None else after.public(),
            )
        ],
    )
