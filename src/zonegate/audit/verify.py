"""Verify a hash chain end to end and say exactly which records were tampered with.

Every row's hash is recomputed from its stored columns, and every row must link to the one
before it (``seq`` one higher, ``prev_hash`` equal to that row's hash). Rows stream in seq order
in bounded batches, so verifying a log of any length takes constant memory.

What is detected: an edited field (hash mismatch), a deleted row (a gap in seq), rows moved to
other positions or swapped (their hashes bind them to their seq), and deleted newest rows (the
``chain_heads`` checkpoint names a seq that no longer exists). What a chain stored in the same
database cannot detect: someone with write access who recomputes every hash after their edit
and moves the checkpoint too. Defend against that by keeping the head hash this prints (or a
periodic export) somewhere the database's writers cannot reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from zonegate.audit.chain import GENESIS_HASH, record_hash
from zonegate.store.audit_read import hashable_select, read_head, stored_payload
from zonegate.store.audit_repo import CHAINS, Chain, ChainHead
from zonegate.store.db import Database

ChainName = Literal["audit", "admin"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: where (seq, and the record's id when the row exists) and what."""

    seq: int | None
    request_id: str | None
    message: str


@dataclass(slots=True)
class VerifyResult:
    chain: str
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0  # may exceed len(problems), which is capped
    last_seq: int = 0
    last_hash: str = GENESIS_HASH

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def verify_chain(
    db: Database,
    chain: ChainName = "audit",
    *,
    batch_size: int = 1000,
    max_problems: int = 1000,
) -> VerifyResult:
    """Check every row of one chain (``"audit"`` records or ``"admin"`` events)."""
    spec = CHAINS[chain]
    result = VerifyResult(chain=chain)

    def report(seq: int | None, record_id: str | None, message: str) -> None:
        result.problem_count += 1
        if len(result.problems) < max_problems:
            result.problems.append(Problem(seq, record_id, message))

    with db.engine.connect() as conn:
        head = read_head(conn, spec)  # read first: rows appended meanwhile only extend the chain

    noun = spec.id_column
    prev_seq, prev_hash, prev_trusted = 0, GENESIS_HASH, True
    head_row_hash: str | None = None
    for row in _raw_rows(db, spec, batch_size):
        seq = int(row["seq"])
        record_id = str(row[spec.id_column])
        stored_hash = str(row["hash"])
        result.checked += 1
        who = f"record seq {seq} ({noun} {record_id})"
        if seq > prev_seq + 1:
            report(prev_seq + 1, None, _gap_message(prev_seq, seq))
        computed = record_hash(str(row["prev_hash"]), seq, stored_payload(spec, row))
        modified = computed != stored_hash
        if modified:
            report(seq, record_id, f"{who} was modified: hash mismatch")
        elif seq == prev_seq + 1 and prev_trusted and row["prev_hash"] != prev_hash:
            report(
                seq,
                record_id,
                f"{who} does not follow seq {prev_seq}: its prev_hash is not that record's "
                "hash (records were reordered, replaced or re-chained)",
            )
        if head is not None and seq == head.seq:
            head_row_hash = stored_hash
        prev_seq, prev_hash, prev_trusted = seq, stored_hash, not modified

    result.last_seq, result.last_hash = prev_seq, prev_hash
    for at_seq, message in _head_problems(spec, head, head_row_hash, prev_seq, result.checked):
        report(at_seq, None, message)
    return result


def verify_all(db: Database, *, batch_size: int = 1000) -> dict[str, VerifyResult]:
    """Both chains: ``{"audit": ..., "admin": ...}``."""
    return {
        "audit": verify_chain(db, "audit", batch_size=batch_size),
        "admin": verify_chain(db, "admin", batch_size=batch_size),
    }


def _raw_rows(db: Database, spec: Chain, batch_size: int) -> Iterator[dict[str, Any]]:
    """Keyset-paginated raw rows, one short read per batch."""
    t = spec.table
    base = hashable_select(spec)
    after = 0
    while True:
        query = base.where(t.c.seq > after).order_by(t.c.seq).limit(batch_size)
        with db.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        yield from rows
        if len(rows) < batch_size:
            return
        after = int(rows[-1]["seq"])


def _gap_message(before: int, after: int) -> str:
    missing = after - before - 1
    if before == 0:
        if missing == 1:
            return f"a record before seq {after} is missing (seq 1)"
        return f"{missing} records before seq {after} are missing (seq 1 to {after - 1})"
    if missing == 1:
        return f"a record between seq {before} and {after} is missing (seq {before + 1})"
    return f"{missing} records between seq {before} and {after} are missing"


def _head_problems(
    spec: Chain, head: ChainHead | None, head_row_hash: str | None, last_seq: int, checked: int
) -> list[tuple[int | None, str]]:
    """Compare the chain with its checkpoint: the only way to see that the newest rows went."""
    if head is None:
        if not checked:
            return []
        return [
            (
                None,
                f"the chain head checkpoint for {spec.name!r} is missing from chain_heads; it "
                "is written with every append, so it was deleted",
            )
        ]
    if head.seq == 0:
        return []
    if head_row_hash is None:
        if last_seq > head.seq:
            return []  # the row at head.seq went missing mid-chain: reported as a gap
        first = last_seq + 1
        span = f"seq {first}" if first == head.seq else f"seq {first} to {head.seq}"
        what = (
            "the newest record"
            if first == head.seq
            else f"the newest {head.seq - last_seq} records"
        )
        verb = "is" if first == head.seq else "are"
        return [
            (
                first,
                f"{what} ({span}) {verb} missing: the chain head checkpoint says the log "
                f"reached seq {head.seq}",
            )
        ]
    if head_row_hash != head.hash:
        return [
            (
                head.seq,
                f"record seq {head.seq} does not match the chain head checkpoint (its hash was "
                "changed after it was written)",
            )
        ]
    return []
