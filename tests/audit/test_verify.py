"""``verify_chain`` passes on a real log and names the record after any single-row tampering."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.store.backends import execute, make_event, make_record
from zonegate.audit.chain import record_hash
from zonegate.audit.verify import verify_all, verify_chain
from zonegate.audit.writer import AuditWriter
from zonegate.store.audit_read import hashable_select, stored_payload
from zonegate.store.audit_repo import AUDIT_CHAIN, append_admin_event, append_records
from zonegate.store.db import Database

N = 30  # the tampering statements below assume 30 records


async def _write_chain(db: Database, n: int = N) -> dict[int, str]:
    """Write ``n`` records through the writer; return seq -> request_id."""
    writer = AuditWriter(db)
    writer.start()
    await asyncio.gather(*(writer.write(make_record(i)) for i in range(n)))
    await writer.close()
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, request_id FROM audit_records")).all()
    return {int(seq): str(rid) for seq, rid in rows}


SWAP_10_AND_20 = [
    "UPDATE audit_records SET seq = -1 WHERE seq = 10",
    "UPDATE audit_records SET seq = 10 WHERE seq = 20",
    "UPDATE audit_records SET seq = 20 WHERE seq = -1",
]


@dataclass(frozen=True)
class Tamper:
    name: str
    statements: list[str]
    # (seq named by the problem, whether it names the row's request_id, message fragment)
    expected: list[tuple[int, bool, str]]


TAMPERING = [
    Tamper(
        "edit status",
        ["UPDATE audit_records SET status = 500 WHERE seq = 17"],
        [(17, True, "was modified: hash mismatch")],
    ),
    Tamper(
        "edit text",
        ["UPDATE audit_records SET zone = 'vendor' WHERE seq = 3"],
        [(3, True, "was modified")],
    ),
    Tamper(
        "edit money",
        ["UPDATE audit_records SET cost = '0.5' WHERE seq = 9"],
        [(9, True, "was modified")],
    ),
    Tamper(
        "edit float",
        ["UPDATE audit_records SET latency_ms = latency_ms + 1 WHERE seq = 11"],
        [(11, True, "was modified")],
    ),
    Tamper(
        "flip boolean",
        ["UPDATE audit_records SET stream = NOT stream WHERE seq = 12"],
        [(12, True, "was modified")],
    ),
    Tamper(
        "blank content",
        ["UPDATE audit_records SET content = NULL WHERE seq = 5"],
        [(5, True, "was modified")],
    ),
    Tamper(
        "edit JSON",
        ["UPDATE audit_records SET findings = CAST('{}' AS JSON) WHERE seq = 8"],
        [(8, True, "was modified")],
    ),
    Tamper(
        "edit timestamp",
        ["UPDATE audit_records SET started_at = ended_at WHERE seq = 21"],
        [(21, True, "was modified")],
    ),
    Tamper(
        "edit stored hash",
        ["UPDATE audit_records SET hash = prev_hash WHERE seq = 14"],
        [(14, True, "was modified")],
    ),
    Tamper(
        "delete a middle record",
        ["DELETE FROM audit_records WHERE seq = 17"],
        [(17, False, "a record between seq 16 and 18 is missing")],
    ),
    Tamper(
        "delete several records",
        ["DELETE FROM audit_records WHERE seq BETWEEN 10 AND 12"],
        [(10, False, "3 records between seq 9 and 13 are missing")],
    ),
    Tamper(
        "delete the first record",
        ["DELETE FROM audit_records WHERE seq = 1"],
        [(1, False, "a record before seq 2 is missing")],
    ),
    Tamper(
        "delete the newest record",
        ["DELETE FROM audit_records WHERE seq = 30"],
        [(N, False, f"the newest record (seq {N}) is missing")],
    ),
    Tamper(
        "delete the newest records and the checkpoint",
        ["DELETE FROM audit_records WHERE seq > 27", "DELETE FROM chain_heads"],
        [(0, False, "chain head checkpoint for 'audit' is missing")],
    ),
    Tamper(
        "swap two records",
        SWAP_10_AND_20,
        [(10, True, "was modified"), (20, True, "was modified")],
    ),
    Tamper(
        "swap the contents of two records",
        [
            "UPDATE audit_records SET started_at = "
            "(SELECT started_at FROM audit_records WHERE seq = 4) WHERE seq = 6",
        ],
        [(6, True, "was modified")],
    ),
    Tamper(
        "delete a record and renumber the rest",
        [
            "DELETE FROM audit_records WHERE seq = 17",
            "UPDATE audit_records SET seq = -(seq - 1) WHERE seq > 17",
            "UPDATE audit_records SET seq = -seq WHERE seq < 0",
        ],
        [(17, True, "was modified"), (N, False, "the newest record")],
    ),
]


@pytest.mark.parametrize("tamper", TAMPERING, ids=[t.name for t in TAMPERING])
async def test_tampering_is_detected_and_names_the_record(db: Database, tamper: Tamper) -> None:
    before = await _write_chain(db)
    clean = verify_chain(db)
    assert clean.ok, clean.problems
    assert clean.checked == N

    for statement in tamper.statements:
        execute(db, statement)
    after = {seq: rid for seq, rid in _rows(db)}
    result = verify_chain(db)

    assert not result.ok
    for seq, names_record, fragment in tamper.expected:
        matching = [
            p for p in result.problems if fragment in p.message and (not seq or p.seq == seq)
        ]
        assert matching, f"no problem at seq {seq} mentioning {fragment!r}: {result.problems}"
        problem = matching[0]
        if names_record:
            assert problem.request_id == after[seq]
            assert f"record seq {seq} (request_id {after[seq]})" in problem.message
    assert len(before) == N


def _rows(db: Database) -> list[tuple[int, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, request_id FROM audit_records")).all()
    return [(int(s), str(r)) for s, r in rows]


async def test_a_rechained_edit_breaks_the_link_to_the_next_record(db: Database) -> None:
    """Edit a row and recompute its own hash: the next row's prev_hash gives it away."""
    seqs = await _write_chain(db)
    with db.engine.connect() as conn:
        row = dict(
            conn.execute(hashable_select(AUDIT_CHAIN).where(text("seq = 17"))).mappings().one()
        )
    row["status"] = 403
    forged = record_hash(row["prev_hash"], 17, stored_payload(AUDIT_CHAIN, row))
    execute(db, "UPDATE audit_records SET status = 403, hash = :h WHERE seq = 17", h=forged)
    result = verify_chain(db)
    assert not result.ok
    [problem] = [p for p in result.problems if p.seq == 18]
    assert problem.request_id == seqs[18]
    assert "does not follow seq 17" in problem.message


def test_admin_events_are_verified_the_same_way(db: Database) -> None:
    for i in range(5):
        append_admin_event(db, make_event(i))
    assert verify_chain(db, "admin").ok
    execute(db, "UPDATE admin_events SET actor = 'someone-else' WHERE seq = 3")
    execute(db, "DELETE FROM admin_events WHERE seq = 5")
    result = verify_chain(db, "admin")
    assert not result.ok
    messages = [p.message for p in result.problems]
    assert any(m.startswith("record seq 3 (event_id ") and "was modified" in m for m in messages)
    assert any("the newest record (seq 5) is missing" in m for m in messages)
    assert verify_all(db)["audit"].ok


def test_verification_streams_in_batches(db: Database) -> None:
    append_records(db, [make_record(i) for i in range(25)])
    for size in (1, 7, 25, 1000):
        result = verify_chain(db, batch_size=size)
        assert result.ok, (size, result.problems)
        assert result.checked == 25
        assert result.last_seq == 25
    execute(db, "UPDATE audit_records SET team = 'x' WHERE seq IN (7, 8, 15)")
    result = verify_chain(db, batch_size=7)
    assert [p.seq for p in result.problems] == [7, 8, 15]


def test_reported_problems_are_capped_but_counted(db: Database) -> None:
    append_records(db, [make_record(i) for i in range(12)])
    execute(db, "UPDATE audit_records SET team = 'x'")
    result = verify_chain(db, max_problems=5)
    assert result.problem_count == 12
    assert len(result.problems) == 5
    assert not result.ok


def test_an_empty_log_verifies(db: Database) -> None:
    result = verify_chain(db)
    assert result.ok
    assert result.checked == 0


def test_awkward_values_survive_the_round_trip(db: Database) -> None:
    """What is hashed at write time is exactly what verify rebuilds from the stored row."""
    india = timezone(timedelta(hours=5, minutes=30))
    records = [
        make_record(
            0,
            started_at=datetime(2026, 5, 1, 10, 0, tzinfo=india),
            ended_at=datetime(2026, 5, 1, 10, 0, 0, 1, tzinfo=india),
            team="zürich-团队",
            error_message='line one\nline "two"\t\\ end 🚀',
            params={
                "int_keys": {1: "one", 10: "sorts after 2 as a number, before it as text", 2: "2"},
                "nested": {"tuple": (1, 2), "decimal": Decimal("1.50"), "when": datetime.now(UTC)},
                "floats": [0.1 + 0.2, 1e-300, -0.0, 1.0, 123456789.123456789],
                "big": 2**70,
            },
            content={
                "mode": "full",
                "request": {"text": "lone \ud800 surrogate"},
                "response": "ok",
            },
            cost=Decimal("0.00012345678912345"),
            latency_ms=0.1 + 0.2,
            findings={},
            guard_verdicts={},
            fallback_chain=(),
        ),
        make_record(
            1,
            trace_id=None,
            principal_id=None,
            team=None,
            purpose=None,
            route=None,
            requested_model=None,
            model_id=None,
            served_model=None,
            zone=None,
            declared_class=None,
            effective_class=None,
            content=None,
            content_mode="none",
            retain_until=None,
            prompt_tokens=None,
            completion_tokens=None,
            cost=None,
            latency_ms=None,
            ttft_ms=None,
            decision="deny",
            status=403,
            reason_code="data_class_exceeds_zones",
            stream=True,
        ),
        make_record(2, cost=Decimal("12345678901234.5"), latency_ms=3, prompt_tokens=True),
    ]
    append_records(db, records)
    result = verify_chain(db)
    assert result.ok, result.problems
    assert result.checked == 3
