"""Reading the hash chains back: raw rows for verification, typed rows for export.

Verification reads every column exactly as the driver returns it (JSON as stored text, no
SQLAlchemy type processing), so a tampered row, however malformed, is still read and simply
fails its hash check instead of crashing the verifier.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Connection, Select, Text, cast, select, type_coerce
from sqlalchemy.types import NullType

from zonegate.audit.chain import canonical_json
from zonegate.store.audit_repo import Chain, ChainHead
from zonegate.store.db import Database
from zonegate.store.tables import chain_heads


def hashable_select(chain: Chain) -> Select[*tuple[Any, ...]]:
    """SELECT of every column as the driver returns it (no SQLAlchemy type processing, JSON
    columns as their stored text), so a verifier can read any row, however it was tampered
    with, and rebuild its payload with :func:`stored_payload`."""
    return select(
        *(
            cast(c, Text).label(c.name)
            if isinstance(c.type, JSON)
            else type_coerce(c, NullType()).label(c.name)
            for c in chain.table.columns
        )
    )


def stored_payload(chain: Chain, row: Mapping[str, Any]) -> bytes:
    """The canonical payload rebuilt from a row read with :func:`hashable_select`.

    The mirror image of the ``prepare_*`` functions: SQLite's stored text for times and money and
    0/1 for booleans become the values that were hashed. A value that cannot be read back (an
    edited timestamp that no longer parses, say) is hashed as it stands, so it shows up as a
    mismatch rather than an error.
    """
    values = {name: row[name] for name in chain.payload_columns}
    kinds = chain.kinds
    for name, value in values.items():
        kind = kinds[name]
        if kind == "plain" or kind == "json" or value is None:
            continue
        values[name] = _read_back(kind, value)
    return canonical_json(values)


def _read_back(kind: str, value: Any) -> Any:
    if kind == "datetime" and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if kind == "money" and isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    if kind == "bool" and type(value) is int and value in (0, 1):
        return bool(value)
    return value


def read_head(conn: Connection, chain: Chain) -> ChainHead | None:
    """The checkpoint stored in ``chain_heads`` (None if the chain was never written)."""
    row = conn.execute(
        select(chain_heads.c.seq, chain_heads.c.hash).where(chain_heads.c.chain == chain.name)
    ).first()
    return None if row is None else ChainHead(int(row[0]), str(row[1]))


def iter_chain_rows(
    db: Database,
    chain: Chain,
    *,
    after_seq: int = 0,
    batch_size: int = 1000,
    where: Sequence[Any] = (),
    descending: bool = False,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows in seq order, fetched in keyset-paginated batches so memory stays bounded however
    long the chain is. ``where`` adds SQLAlchemy filter clauses."""
    t = chain.table
    remaining = limit
    cursor: int | None = None if descending else after_seq
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        query = select(t).where(*where)
        if descending:
            if cursor is not None:
                query = query.where(t.c.seq < cursor)
            query = query.order_by(t.c.seq.desc())
        else:
            query = query.where(t.c.seq > cursor).order_by(t.c.seq)
        with db.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query.limit(size)).mappings()]
        yield from rows
        if len(rows) < size:
            return
        cursor = rows[-1]["seq"]
        if remaining is not None:
            remaining -= len(rows)
