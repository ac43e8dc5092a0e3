"""The group-commit writer: durable before returning, fails closed, bounded, multi-process safe."""

from __future__ import annotations

import asyncio

import pytest

from tests.store.backends import (
    WriteLockHolder,
    execute,
    make_event,
    make_record,
    scalar,
    wait_until,
)
from zonegate.audit.verify import verify_chain
from zonegate.audit.writer import AuditWriter
from zonegate.errors import ServiceUnavailable
from zonegate.store.audit_repo import append_admin_event, append_records
from zonegate.store.db import Database


def _request_ids(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT request_id FROM audit_records ORDER BY seq").all()
    return [r[0] for r in rows]


async def test_write_returns_after_the_record_is_committed(db: Database) -> None:
    writer = AuditWriter(db)
    writer.start()
    try:
        record = make_record(1)
        await writer.write(record)
        # Visible to a brand-new handle: committed, not just queued.
        other = Database(db.url)
        try:
            assert _request_ids(other) == [record.request_id]
        finally:
            other.dispose()
    finally:
        await writer.close()


async def test_concurrent_writes_form_one_contiguous_chain(db: Database) -> None:
    writer = AuditWriter(db)
    writer.start()
    records = [make_record(i) for i in range(200)]
    await asyncio.gather(*(writer.write(r) for r in records))
    await writer.close()
    assert sorted(_request_ids(db)) == sorted(r.request_id for r in records)
    assert scalar(db, "SELECT min(seq) FROM audit_records") == 1
    assert scalar(db, "SELECT max(seq) FROM audit_records") == 200
    result = verify_chain(db)
    assert result.ok, result.problems
    assert result.checked == 200


async def test_queued_records_share_one_transaction(db: Database, db_url: str) -> None:
    writer = AuditWriter(db)
    writer.start()
    holder = WriteLockHolder(db_url)
    try:
        first = asyncio.ensure_future(writer.write(make_record(0)))
        await asyncio.sleep(0)  # let the task submit its record
        await wait_until(lambda: writer.pending == 0 and not first.done())
        rest = [asyncio.ensure_future(writer.write(make_record(i))) for i in range(1, 50)]
        await wait_until(lambda: writer.pending == 49)
        assert not any(t.done() for t in rest)  # nothing is acknowledged before its commit
    finally:
        holder.release()
    await asyncio.gather(first, *rest)
    await writer.close()
    assert writer.batches_committed == 2  # the blocked first record, then the other 49 at once
    assert verify_chain(db).ok


async def test_a_store_outage_fails_the_requests_and_the_writer_recovers(db: Database) -> None:
    writer = AuditWriter(db)
    writer.start()
    try:
        await writer.write(make_record(0))
        execute(db, "ALTER TABLE audit_records RENAME TO audit_records_away")
        with pytest.raises(ServiceUnavailable) as info:
            await writer.write(make_record(1))
        error = info.value
        assert error.status == 503
        assert error.code == "audit_unavailable"
        assert error.message.startswith("the audit store is unavailable: ")
        assert "the request was refused because it could not be recorded" in error.message
        assert writer.last_error is not None
        assert "audit_records" in writer.last_error
        assert writer.running  # the thread survived the failure
        assert not writer.healthy
        execute(db, "ALTER TABLE audit_records_away RENAME TO audit_records")
        await writer.write(make_record(2))
        assert writer.last_error is None
        assert writer.healthy
    finally:
        await writer.close()
    assert writer.batches_failed == 1
    result = verify_chain(db)
    assert result.ok, result.problems
    assert result.checked == 2


async def test_one_bad_row_does_not_fail_its_batch(db: Database, db_url: str) -> None:
    writer = AuditWriter(db)
    writer.start()
    taken = make_record(0)
    await writer.write(taken)
    holder = WriteLockHolder(db_url)
    try:
        blocker = asyncio.ensure_future(writer.write(make_record(1)))
        await asyncio.sleep(0)
        await wait_until(lambda: writer.pending == 0 and not blocker.done())
        good_a, duplicate, good_b = (
            make_record(2),
            make_record(3, request_id=taken.request_id),
            make_record(4),
        )
        tasks = [asyncio.ensure_future(writer.write(r)) for r in (good_a, duplicate, good_b)]
        await wait_until(lambda: writer.pending == 3)
    finally:
        holder.release()
    results = await asyncio.gather(blocker, *tasks, return_exceptions=True)
    await writer.close()
    assert results[0] is None
    assert results[1] is None
    assert results[3] is None
    assert isinstance(results[2], ServiceUnavailable)
    assert results[2].code == "audit_unavailable"
    assert writer.last_error is None  # a bad row is not an outage
    ids = _request_ids(db)
    assert ids.count(taken.request_id) == 1
    assert {good_a.request_id, good_b.request_id} <= set(ids)
    assert verify_chain(db).ok


async def test_the_queue_is_bounded(db: Database, db_url: str) -> None:
    writer = AuditWriter(db, batch_max=1, max_pending=2)
    writer.start()
    holder = WriteLockHolder(db_url)
    try:
        in_flight = asyncio.ensure_future(writer.write(make_record(0)))
        await asyncio.sleep(0)
        await wait_until(lambda: writer.pending == 0 and not in_flight.done())
        queued = [asyncio.ensure_future(writer.write(make_record(i))) for i in (1, 2)]
        await wait_until(lambda: writer.pending == 2)
        with pytest.raises(ServiceUnavailable, match="2 records are already waiting") as info:
            await writer.write(make_record(3))
        assert info.value.code == "audit_unavailable"
    finally:
        holder.release()
    await asyncio.gather(in_flight, *queued)
    await writer.close()
    assert scalar(db, "SELECT count(*) FROM audit_records") == 3


async def test_writes_are_refused_before_start_and_after_close(db: Database) -> None:
    writer = AuditWriter(db)
    assert not writer.healthy
    with pytest.raises(ServiceUnavailable, match="not running"):
        await writer.write(make_record(0))
    writer.start()
    assert writer.healthy
    await writer.close()
    assert not writer.healthy
    with pytest.raises(ServiceUnavailable, match="not running"):
        await writer.write(make_record(1))
    assert scalar(db, "SELECT count(*) FROM audit_records") == 0


async def test_close_commits_everything_already_accepted(db: Database) -> None:
    writer = AuditWriter(db)
    writer.start()
    tasks = [asyncio.ensure_future(writer.write(make_record(i))) for i in range(30)]
    await asyncio.sleep(0)  # every task has submitted its record; none is committed yet
    assert not any(t.done() for t in tasks)
    await writer.close()
    await asyncio.gather(*tasks)
    assert scalar(db, "SELECT count(*) FROM audit_records") == 30


async def test_a_cancelled_request_still_leaves_its_record(db: Database, db_url: str) -> None:
    writer = AuditWriter(db)
    writer.start()
    record = make_record(0)
    holder = WriteLockHolder(db_url)
    try:
        task = asyncio.ensure_future(writer.write(record))
        await asyncio.sleep(0)
        await wait_until(lambda: writer.pending == 0 and not task.done())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        holder.release()
    await writer.close()
    assert _request_ids(db) == [record.request_id]


async def test_an_unrecordable_record_is_refused_alone(db: Database) -> None:
    from datetime import datetime

    writer = AuditWriter(db)
    writer.start()
    try:
        naive = make_record(0, started_at=datetime(2026, 1, 1))
        with pytest.raises(ServiceUnavailable, match="naive datetime") as info:
            await writer.write(naive)
        assert info.value.code == "audit_unavailable"
        with pytest.raises(ServiceUnavailable, match="cannot be recorded"):
            await writer.write(make_record(1, params={"handle": object()}))
        await writer.write(make_record(2))
    finally:
        await writer.close()
    assert scalar(db, "SELECT count(*) FROM audit_records") == 1


async def test_two_processes_sharing_a_database_produce_one_valid_chain(db_url: str) -> None:
    first, second = Database(db_url), Database(db_url)
    first.migrate()
    second.migrate()
    writers = [AuditWriter(first, batch_max=7), AuditWriter(second, batch_max=5)]
    for w in writers:
        w.start()
    records = [make_record(i) for i in range(300)]
    try:
        await asyncio.gather(*(writers[i % 2].write(r) for i, r in enumerate(records)))
        await asyncio.gather(*(w.write_admin(make_event(i)) for i, w in enumerate(writers)))
    finally:
        for w in writers:
            await w.close()
    try:
        assert sorted(_request_ids(first)) == sorted(r.request_id for r in records)
        audit = verify_chain(first)
        assert audit.ok, audit.problems
        assert audit.checked == 300
        admin = verify_chain(second, "admin")
        assert admin.ok, admin.problems
        assert admin.checked == 2
    finally:
        first.dispose()
        second.dispose()


def test_synchronous_appends_chain_records_and_events(db: Database) -> None:
    assert append_records(db, []) == []
    assert append_records(db, [make_record(0), make_record(1)]) == [1, 2]
    assert append_records(db, [make_record(2)]) == [3]
    assert append_admin_event(db, make_event(0)) == 1
    assert append_admin_event(db, make_event(1)) == 2
    assert verify_chain(db).ok
    assert verify_chain(db, "admin").ok
    assert scalar(db, "SELECT seq FROM chain_heads WHERE chain = 'audit'") == 3
    assert scalar(db, "SELECT seq FROM chain_heads WHERE chain = 'admin'") == 2
