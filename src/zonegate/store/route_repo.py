"""Route state in the database: which model a route prefers, and the history of how it got there.

Rows are appended, never updated: a promotion, an override or a rollback each add one row, and
the route's current state is its newest. Each change appends its admin event in the same
transaction (as key changes do), so the admin trail cannot miss a change and a change cannot
happen without its entry.

Rollback undoes the promotion in effect: it restores the state that promotion replaced (an
earlier promotion, or the config's order). Rolling back repeatedly walks back through the
promotions until the config's order is reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, func, select

from zonegate.audit.record import AdminEvent
from zonegate.errors import InvalidRequest, NotFound
from zonegate.ids import new_id
from zonegate.store.audit_repo import append_admin_events
from zonegate.store.db import Database
from zonegate.store.route_tables import route_changes

Action = Literal["promote", "promote.override", "rollback"]


@dataclass(frozen=True, slots=True)
class RouteChange:
    """One change of a route's state; ``model`` None means the config's candidate order."""

    change_id: str
    route: str
    version: int
    action: Action
    model: str | None
    promotion_id: str | None
    previous_id: str | None
    candidate_run_id: str | None
    incumbent_run_id: str | None
    verdict: Mapping[str, Any] | None
    override: bool
    reason: str | None
    actor: str
    created_at: datetime

    @property
    def run_ids(self) -> list[str]:
        return [r for r in (self.candidate_run_id, self.incumbent_run_id) if r is not None]

    def public(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "change_id": self.change_id,
            "route": self.route,
            "version": self.version,
            "action": self.action,
            "model": self.model,
            "promotion_id": self.promotion_id,
            "previous_id": self.previous_id,
            "candidate_run_id": self.candidate_run_id,
            "incumbent_run_id": self.incumbent_run_id,
            "verdict": None if self.verdict is None else dict(self.verdict),
            "override": self.override,
            "reason": self.reason,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a promotion rests on: the two runs compared and the gate's verdict (JSON)."""

    candidate_run_id: str | None = None
    incumbent_run_id: str | None = None
    verdict: Mapping[str, Any] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class ActiveRoute:
    """What the gateway needs of a promoted route."""

    route: str
    model: str
    promotion_id: str


class RouteRepository:
    """Read and change route state."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reading -------------------------------------------------------------------------------

    def current(self, route: str) -> RouteChange | None:
        """The route's newest change, or None when it was never changed (config order)."""
        with self._db.engine.connect() as conn:
            return _current(conn, route)

    def current_all(self) -> dict[str, RouteChange]:
        """The newest change of every route that has one."""
        newest = (
            select(route_changes.c.route, func.max(route_changes.c.version).label("version"))
            .group_by(route_changes.c.route)
            .subquery()
        )
        query = select(route_changes).join(
            newest,
            (route_changes.c.route == newest.c.route)
            & (route_changes.c.version == newest.c.version),
        )
        with self._db.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return {row["route"]: _change(row) for row in rows}

    def active(self) -> dict[str, ActiveRoute]:
        """Routes whose current state puts a promoted model first (the gateway's read)."""
        return {
            route: ActiveRoute(route, change.model, change.promotion_id)
            for route, change in self.current_all().items()
            if change.model is not None and change.promotion_id is not None
        }

    def get(self, change_id: str) -> RouteChange | None:
        with self._db.engine.connect() as conn:
            return _get(conn, change_id)

    def history(self, route: str, *, limit: int | None = None) -> list[RouteChange]:
        """The route's changes, newest first."""
        query = (
            select(route_changes)
            .where(route_changes.c.route == route)
            .order_by(route_changes.c.version.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_change(r) for r in rows]

    # -- changing ------------------------------------------------------------------------------

    def promote(
        self,
        route: str,
        model: str,
        *,
        actor: str,
        evidence: Evidence | None = None,
        override: bool = False,
        reason: str | None = None,
        based_on: int = 0,
    ) -> RouteChange:
        """Put ``model`` first on ``route``. ``based_on`` is the version the caller judged the
        evidence against (0: never changed); a route changed since is refused, since the
        verdict may have been against another incumbent."""
        if override and not (reason and reason.strip()):
            raise InvalidRequest(
                "an override needs a reason; say why the gate is bypassed", code="reason_required"
            )
        evidence = evidence or Evidence()
        with self._db.write_transaction() as conn:
            previous = _current(conn, route)
            _check_based_on(route, previous, based_on)
            if previous is not None and previous.model == model:
                raise InvalidRequest(
                    f"{model!r} is already first on route {route!r} (promotion "
                    f"{previous.promotion_id}); nothing to change",
                    code="already_promoted",
                )
            change_id = new_id()
            change = RouteChange(
                change_id=change_id,
                route=route,
                version=(previous.version if previous is not None else 0) + 1,
                action="promote.override" if override else "promote",
                model=model,
                promotion_id=change_id,
                previous_id=None if previous is None else previous.change_id,
                candidate_run_id=evidence.candidate_run_id,
                incumbent_run_id=evidence.incumbent_run_id,
                verdict=evidence.verdict,
                override=override,
                reason=reason.strip() if reason else None,
                actor=actor,
                created_at=datetime.now(UTC),
            )
            _insert(conn, change)
            after = {**_state(change), "verdict": _plain(evidence.verdict)}
            _record(conn, change, _state(previous), after)
        return change

    def rollback(self, route: str, *, actor: str, reason: str | None = None) -> RouteChange:
        """Undo the promotion in effect on ``route``: restore the state it replaced."""
        with self._db.write_transaction() as conn:
            current = _current(conn, route)
            if current is None or current.promotion_id is None:
                raise InvalidRequest(
                    f"route {route!r} already serves in its configured order; there is no "
                    "promotion to roll back",
                    code="nothing_to_roll_back",
                )
            undone = _get(conn, current.promotion_id)
            if undone is None:  # the table's own rows reference each other: a broken store
                raise NotFound(
                    f"promotion {current.promotion_id} of route {route!r} is missing from the "
                    "store",
                    code="promotion_not_found",
                )
            restored = None if undone.previous_id is None else _get(conn, undone.previous_id)
            change = RouteChange(
                change_id=new_id(),
                route=route,
                version=current.version + 1,
                action="rollback",
                model=None if restored is None else restored.model,
                promotion_id=None if restored is None else restored.promotion_id,
                previous_id=current.change_id,
                # The evidence the restored state stands on (none for the config's order).
                candidate_run_id=None if restored is None else restored.candidate_run_id,
                incumbent_run_id=None if restored is None else restored.incumbent_run_id,
                verdict=None,
                override=False,
                reason=reason.strip() if reason else None,
                actor=actor,
                created_at=datetime.now(UTC),
            )
            _insert(conn, change)
            after = {
                **_state(change),
                "rolled_back": {
                    "promotion_id": undone.change_id,
                    "model": undone.model,
                    "run_ids": undone.run_ids,
                },
            }
            _record(conn, change, _state(current), after)
        return change


def _check_based_on(route: str, previous: RouteChange | None, based_on: int) -> None:
    version = 0 if previous is None else previous.version
    if version != based_on:
        raise InvalidRequest(
            f"route {route!r} changed while the evidence was being judged (now at change "
            f"{version}, judged against {based_on}); run the command again",
            code="route_changed",
        )


def _current(conn: Connection, route: str) -> RouteChange | None:
    row = (
        conn.execute(
            select(route_changes)
            .where(route_changes.c.route == route)
            .order_by(route_changes.c.version.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else _change(row)


def _get(conn: Connection, change_id: str) -> RouteChange | None:
    row = (
        conn.execute(select(route_changes).where(route_changes.c.change_id == change_id))
        .mappings()
        .first()
    )
    return None if row is None else _change(row)


def _insert(conn: Connection, change: RouteChange) -> None:
    conn.execute(
        route_changes.insert().values(
            change_id=change.change_id,
            route=change.route,
            version=change.version,
            action=change.action,
            model=change.model,
            promotion_id=change.promotion_id,
            previous_id=change.previous_id,
            candidate_run_id=change.candidate_run_id,
            incumbent_run_id=change.incumbent_run_id,
            verdict=_plain(change.verdict),
            override=change.override,
            reason=change.reason,
            actor=change.actor,
            created_at=change.created_at,
        )
    )


def _state(change: RouteChange | None) -> dict[str, Any]:
    """A route state as the admin trail shows it (before or after a change)."""
    if change is None:
        return {"model": None, "promotion_id": None, "order": "config"}
    return {
        "model": change.model,
        "promotion_id": change.promotion_id,
        "order": "config" if change.model is None else "promoted",
        "change_id": change.change_id,
        "version": change.version,
        "run_ids": change.run_ids,
        "override": change.override,
        "reason": change.reason,
    }


def _record(
    conn: Connection, change: RouteChange, before: dict[str, Any], after: dict[str, Any]
) -> None:
    append_admin_events(
        conn,
        [
            AdminEvent(
                event_id=new_id(),
                at=change.created_at,
                actor=change.actor,
                action=change.action,
                subject=f"route:{change.route}",
                before=before,
                after=after,
            )
        ],
    )


def _plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)


def _change(row: RowMapping) -> RouteChange:
    return RouteChange(
        change_id=row["change_id"],
        route=row["route"],
        version=int(row["version"]),
        action=row["action"],
        model=row["model"],
        promotion_id=row["promotion_id"],
        previous_id=row["previous_id"],
        candidate_run_id=row["candidate_run_id"],
        incumbent_run_id=row["incumbent_run_id"],
        verdict=row["verdict"],
        override=bool(row["override"]),
        reason=row["reason"],
        actor=row["actor"],
        created_at=row["created_at"],
    )
