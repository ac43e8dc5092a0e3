"""API keys: shown once, stored hashed, checked in constant time, every change audited."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select, text

from tests.store.backends import execute, scalar
from zonegate.audit.verify import verify_chain
from zonegate.errors import InvalidRequest, NotFound
from zonegate.store.db import Database
from zonegate.store.keys import KeyRepository
from zonegate.store.tables import admin_events, api_keys

KEY_SHAPE = re.compile(r"^zg_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$")


def _all_text(db: Database) -> str:
    """Every value stored in the key and admin-event tables, as one string."""
    with db.engine.connect() as conn:
        rows = [*conn.execute(select(api_keys)).all(), *conn.execute(select(admin_events)).all()]
    return repr(rows)


def test_create_returns_a_well_formed_key_and_stores_only_its_hash(db: Database) -> None:
    created = KeyRepository(db).create("svc-helpdesk", team="support", role="user")
    match = KEY_SHAPE.match(created.secret)
    assert match is not None
    assert match.group(1) == created.key_id
    stored = scalar(db, "SELECT secret_hash FROM api_keys WHERE key_id = :k", k=created.key_id)
    assert stored == hashlib.sha256(created.secret.encode()).hexdigest()
    secret_part = created.secret.split("_", 2)[2]
    assert secret_part not in _all_text(db)
    assert created.info.last4 == secret_part[-4:]
    assert created.info.display.endswith("_..." + secret_part[-4:])


def test_verify_accepts_the_key_and_rejects_everything_else(db: Database) -> None:
    repo = KeyRepository(db)
    created = repo.create("alice", team="default", role="admin")
    info = repo.verify(created.secret)
    assert info is not None
    assert (info.key_id, info.principal, info.team, info.role) == (
        created.key_id,
        "alice",
        "default",
        "admin",
    )
    assert info.created_at.tzinfo is not None
    last = created.secret[-1]
    tampered = created.secret[:-1] + ("A" if last != "A" else "B")
    other = repo.create("bob")
    spliced = f"zg_{created.key_id}_{other.secret.split('_', 2)[2]}"  # bob's secret, alice's id
    unknown_id = f"zg_{'0' * 32}_{created.secret.split('_', 2)[2]}"
    for bad in (
        tampered,
        spliced,
        unknown_id,
        "",
        "zg_",
        created.key_id,
        "Bearer " + created.secret,
    ):
        assert repo.verify(bad) is None, bad


def test_revoked_keys_stop_working_and_revoke_is_idempotent(db: Database) -> None:
    repo = KeyRepository(db)
    created = repo.create("carol")
    revoked = repo.revoke(created.key_id)
    assert revoked.revoked_at is not None
    assert not revoked.active
    assert repo.verify(created.secret) is None
    events_before = scalar(db, "SELECT count(*) FROM admin_events")
    again = repo.revoke(created.key_id)
    assert again.revoked_at == revoked.revoked_at
    assert scalar(db, "SELECT count(*) FROM admin_events") == events_before


def test_revoking_an_unknown_key_says_so(db: Database) -> None:
    repo = KeyRepository(db)
    for key_id in ("0" * 32, "not-a-key-id"):
        with pytest.raises(NotFound) as info:
            repo.revoke(key_id)
        assert info.value.code == "key_not_found"
        assert "keys list" in info.value.message


def test_list_shows_every_key_without_secrets(db: Database) -> None:
    repo = KeyRepository(db)
    first = repo.create("p1")
    second = repo.create("p2", role="admin")
    repo.revoke(first.key_id)
    listed = repo.list()
    assert [k.key_id for k in listed] == [first.key_id, second.key_id]
    assert [k.active for k in listed] == [False, True]
    public = repr([k.public() for k in listed])
    for created in (first, second):
        assert created.secret not in public
        assert hashlib.sha256(created.secret.encode()).hexdigest() not in public


def test_has_admin_tracks_active_admin_keys(db: Database) -> None:
    repo = KeyRepository(db)
    assert not repo.has_admin()
    repo.create("user-only", role="user")
    assert not repo.has_admin()
    admin = repo.create("root", role="admin")
    assert repo.has_admin()
    repo.revoke(admin.key_id)
    assert not repo.has_admin()


def test_invalid_role_and_principal_are_refused(db: Database) -> None:
    repo = KeyRepository(db)
    with pytest.raises(InvalidRequest, match="unknown role 'root'") as role:
        repo.create("x", role="root")
    assert role.value.code == "invalid_role"
    with pytest.raises(InvalidRequest, match="invalid principal") as principal:
        repo.create("has space")
    assert principal.value.code == "invalid_principal"
    assert scalar(db, "SELECT count(*) FROM api_keys") == 0


def test_every_change_is_in_the_admin_trail_with_before_and_after(db: Database) -> None:
    repo = KeyRepository(db)
    created = repo.create("dave", team="default", role="admin", actor="tester")
    repo.revoke(created.key_id, actor="tester")
    with db.engine.connect() as conn:
        events = conn.execute(select(admin_events).order_by(admin_events.c.seq)).mappings().all()
    assert [e["action"] for e in events] == ["key.create", "key.revoke"]
    assert all(e["actor"] == "tester" for e in events)
    assert all(e["subject"] == f"api_key:{created.key_id}" for e in events)
    assert events[0]["before"] is None
    assert events[0]["after"]["principal"] == "dave"
    assert events[0]["after"]["role"] == "admin"
    assert events[1]["before"]["revoked_at"] is None
    assert events[1]["after"]["revoked_at"] is not None
    assert created.secret.split("_", 2)[2] not in repr(events)
    result = verify_chain(db, "admin")
    assert result.ok, result.problems
    assert result.checked == 2


def test_a_key_is_not_created_when_its_admin_event_cannot_be_written(db: Database) -> None:
    execute(db, "ALTER TABLE admin_events RENAME TO admin_events_gone")
    repo = KeyRepository(db)
    with pytest.raises(Exception, match="admin_events"):
        repo.create("eve")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_keys")).scalar() == 0
