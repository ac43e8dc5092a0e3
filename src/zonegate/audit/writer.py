"""The audit writer: group commit on one background thread; a response waits for its record.

``await writer.write(record)`` returns only once the record is committed. One thread takes
everything queued (up to ``batch_max``) and commits it in a single transaction, so under load
thousands of requests share a handful of fsyncs, and at low load a record waits for one short
transaction. A failed commit fails every waiter in that batch with 503 ``audit_unavailable``
(the request is refused rather than served unrecorded); the thread keeps going and later
records are tried afresh. The queue is bounded, so a stalled database turns into immediate 503s
rather than unbounded memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from zonegate.audit.record import AdminEvent, AuditRecord
from zonegate.errors import ServiceUnavailable
from zonegate.store.audit_repo import ChainAppender, PreparedRow, prepare_event, prepare_record
from zonegate.store.db import Database, describe_error

_REFUSED = "; the request was refused because it could not be recorded"


def audit_unavailable(reason: str) -> ServiceUnavailable:
    """The one error every audit failure surfaces as (HTTP 503, code ``audit_unavailable``)."""
    return ServiceUnavailable(
        f"the audit store is unavailable: {reason}{_REFUSED}", code="audit_unavailable"
    )


@dataclass(slots=True)
class _Pending:
    row: PreparedRow
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class AuditWriter:
    """Durable, batched appends to the audit and admin chains from async code."""

    def __init__(self, db: Database, *, batch_max: int = 512, max_pending: int = 10_000) -> None:
        if batch_max < 1 or max_pending < 1:
            raise ValueError("batch_max and max_pending must be at least 1")
        self._db = db
        self._batch_max = batch_max
        self._max_pending = max_pending
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._appender = ChainAppender(db)
        # Errors one row's data can cause (vs. the store being down): such a batch is retried
        # row by row so only the bad row's request fails.
        self._row_errors: tuple[type[Exception], ...] = (*db.row_errors, UnicodeError)
        self.batches_committed = 0
        self.batches_failed = 0
        self._last_error: str | None = None

    @property
    def pending(self) -> int:
        """Records queued and not yet taken by the writer thread."""
        return self._pending

    @property
    def last_error(self) -> str | None:
        """Why the latest batch failed, or None when the latest batch committed. A gateway can
        refuse to call upstream while this is set (the response could not be recorded anyway);
        the next successful commit clears it."""
        return self._last_error

    @property
    def healthy(self) -> bool:
        """Running, and the latest batch committed (readiness; gate before calling upstream)."""
        return self.running and self._last_error is None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._closing

    def start(self) -> None:
        """Start the writer thread (once)."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the audit writer was already started")
            self._thread = threading.Thread(
                target=self._run, name="zonegate-audit-writer", daemon=True
            )
            self._thread.start()

    async def write(self, record: AuditRecord) -> None:
        """Return once ``record`` is committed; raise ServiceUnavailable if it cannot be."""
        try:
            row = prepare_record(record, self._db.dialect)
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise audit_unavailable(f"record {record.request_id} cannot be stored ({exc})") from exc
        await self._submit(row)

    async def write_admin(self, event: AdminEvent) -> None:
        """Return once ``event`` is committed to the admin trail."""
        try:
            row = prepare_event(event, self._db.dialect)
        except (TypeError, ValueError, RecursionError) as exc:
            raise audit_unavailable(
                f"admin event {event.event_id} cannot be stored ({exc})"
            ) from exc
        await self._submit(row)

    async def _submit(self, row: PreparedRow) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._thread is None or self._closing or not self._thread.is_alive():
                raise audit_unavailable("the audit writer is not running")
            if self._pending >= self._max_pending:
                raise audit_unavailable(
                    f"{self._max_pending} records are already waiting to be written"
                )
            self._pending += 1
            self._queue.put(_Pending(row, loop, future))
        await future

    async def close(self) -> None:
        """Commit everything already queued, then stop the thread."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            thread = self._thread
            self._queue.put(None)  # queued after every accepted record: all are written first
        if thread is not None:
            await asyncio.to_thread(thread.join)

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        batch: list[_Pending] = []
        try:
            stop = False
            while not stop:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < self._batch_max:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                with self._lock:
                    self._pending -= len(batch)
                self._commit(batch)
                batch = []
        finally:
            # Normally empty; after an unexpected BaseException nobody may be left waiting.
            with self._lock:
                self._closing = True
            _settle(batch, "the audit writer stopped")
            self._fail_queued()
            self._appender.close()

    def _fail_queued(self) -> None:
        leftovers: list[_Pending] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                leftovers.append(item)
        _settle(leftovers, "the audit writer stopped")

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._append(batch)
        except self._row_errors as exc:
            # One bad row (e.g. a duplicate request id) must not fail its neighbours: retry
            # each alone. Outages (OperationalError) are not retried row by row.
            if len(batch) == 1:
                self._fail(batch, exc)
            else:
                for item in batch:
                    self._commit([item])
        except Exception as exc:  # any failure fails the batch, never the thread
            self._fail(batch, exc)
        else:
            self.batches_committed += 1
            self._last_error = None
            _settle(batch, None)

    def _append(self, batch: Sequence[_Pending]) -> None:
        self._appender.append([item.row for item in batch])

    def _fail(self, batch: list[_Pending], exc: BaseException) -> None:
        self.batches_failed += 1
        reason = describe_error(exc)
        if not isinstance(exc, self._row_errors):
            self._last_error = reason  # the store is failing, not just this row
        _settle(batch, reason)


def _settle(batch: list[_Pending], error: str | None) -> None:
    """Wake every waiter on its own loop, with one cross-thread call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for item in batch:
        by_loop.setdefault(item.loop, []).append(item.future)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting any more
            loop.call_soon_threadsafe(_resolve, futures, error)


def _resolve(futures: list[asyncio.Future[None]], error: str | None) -> None:
    for future in futures:
        if future.done():
            continue  # the waiting request was cancelled; its record is committed regardless
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(audit_unavailable(error))
