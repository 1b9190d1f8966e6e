"""The background batch writer: the ``RecordSink`` that puts every request's record in the database.

Contract:

* ``emit(record)`` never blocks and never raises: it appends to an in-memory queue. When the queue holds
  ``queue_size`` records it appends the record to the spill file instead (one buffered write): nothing is dropped.
* A background task writes batches of up to ``batch_size`` records, at least every ``flush_interval`` seconds,
  through ``asyncio.to_thread`` (``LogStore.write``: log rows and roll-ups in one transaction).
* Database unreachable: the batch goes back to the queue, a warning is logged once, and the write is retried every
  ``retry_interval`` seconds; meanwhile the queue fills up to its bound and the rest goes to the spill file. When a
  write succeeds again, a warning says so and the spill file is replayed. A restart replays it too (the task's first
  job). Replays cannot double-count: the store skips request ids it already has.
* A batch the database refuses for another reason (a bad row) is retried row by row; rows refused alone are logged
  and kept in the rejected file, so they cannot block the queue.
* ``aclose()`` stops taking new work into the queue (later records go straight to the spill file), writes what is
  queued, and returns; if the database is down, or the drain takes longer than ``drain_timeout``, what is left is
  spilled. It is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.ledger.spill import SpillFile
from gateway.ledger.store import LogStore, is_outage
from gateway.pipeline.records import RequestRecord

logger = logging.getLogger("gateway.ledger")


@dataclass(frozen=True, slots=True)
class WriterSettings:
    batch_size: int = 500
    flush_interval: float = 0.2
    queue_size: int = 10_000
    retry_interval: float = 1.0
    drain_timeout: float = 20.0


class LedgerWriter:
    def __init__(self, store: LogStore, spill: SpillFile, settings: WriterSettings | None = None) -> None:
        self._store = store
        self._spill = spill
        self._settings = settings or WriterSettings()
        self._queue: deque[RequestRecord] = deque()
        self._in_flight: list[RequestRecord] = []
        self._has_work = asyncio.Event()
        self._batch_ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._down_since: float | None = None
        self._maybe_spilled = True  # a previous run may have left a spill file: the task's first job is to look
        self._stopped_down = False
        self.written = 0  # rows committed by this writer (new ones only), for tests and metrics

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ledger-writer")

    @property
    def healthy(self) -> bool:
        return self._down_since is None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def emit(self, record: RequestRecord) -> None:
        if self._closed or len(self._queue) >= self._settings.queue_size:
            self._spill_now([record])
            return
        self._queue.append(record)
        if len(self._queue) == 1:
            self._has_work.set()
        if len(self._queue) >= self._settings.batch_size:
            self._batch_ready.set()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._has_work.set()
        self._batch_ready.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self._settings.drain_timeout)
            except TimeoutError:
                seconds = self._settings.drain_timeout
                logger.warning("the request log did not drain in %.0f s; spilling the rest", seconds)
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        leftover = [*self._in_flight, *self._queue]  # in flight: may or may not have committed; replay dedups
        self._queue.clear()
        self._in_flight = []
        if leftover:
            self._spill_now(leftover)
            logger.warning("%d request log record(s) kept in %s for the next start", len(leftover), self._spill.path)
        self._spill.close()

    async def _run(self) -> None:
        await self._replay_spill()
        while not self._stopping.is_set() or (self._queue and not self._stopped_down):
            try:
                await self._cycle()
            except Exception:  # a bug here must not stop the log: the records stay queued
                logger.exception("the request log writer failed; retrying")
                await self._pause()

    async def _cycle(self) -> None:
        await self._wait_for_batch()
        if not self._queue:
            return
        batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._settings.batch_size))]
        self._in_flight = batch
        try:
            ok = await self._write(batch)
        finally:
            self._in_flight = []
        if ok:
            await self._replay_spill()
            return
        self._queue.extendleft(reversed(batch))
        if self._stopping.is_set():
            self._stopped_down = True  # stop trying: aclose spills what is left
            return
        await self._pause()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self._settings.retry_interval)

    async def _wait_for_batch(self) -> None:
        if not self._queue and not self._stopping.is_set():
            self._has_work.clear()
            await self._has_work.wait()
        if len(self._queue) < self._settings.batch_size and not self._stopping.is_set():
            self._batch_ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._batch_ready.wait(), self._settings.flush_interval)

    async def _write(self, batch: list[RequestRecord]) -> bool:
        """Write one batch; False when the database is unreachable (the batch is then still ours to keep)."""
        try:
            self.written += await asyncio.to_thread(self._store.write, batch)
        except Exception as exc:
            if not is_outage(exc):
                return await self._write_apart(batch)
            self._mark_down(exc)
            return False
        self._mark_up()
        return True

    async def _write_apart(self, batch: list[RequestRecord]) -> bool:
        try:
            await asyncio.to_thread(self._write_one_by_one, batch)
        except Exception as exc:  # only outages escape _write_one_by_one
            self._mark_down(exc)
            return False
        self._mark_up()
        return True

    def _write_one_by_one(self, batch: Sequence[RequestRecord]) -> None:
        refused: list[RequestRecord] = []
        for record in batch:
            try:
                self.written += self._store.write([record])
            except Exception as exc:
                if is_outage(exc):
                    raise
                logger.error("the request log refused record %s: %s", record.request_id, _brief(exc))
                refused.append(record)
        if refused:
            path = self._spill.reject(refused)
            logger.error("%d refused request log record(s) kept in %s", len(refused), path)

    async def _replay_spill(self) -> None:
        if not self._maybe_spilled:
            return
        try:
            count = await asyncio.to_thread(self._spill.replay, self._replay_batch, self._settings.batch_size)
        except Exception as exc:
            if is_outage(exc):
                self._mark_down(exc)
            else:
                logger.exception("replaying the request log's spill file failed")
            return
        self._maybe_spilled = False
        if count:
            logger.warning("replayed %d request log record(s) from the spill file", count)

    def _replay_batch(self, records: Sequence[RequestRecord]) -> int:
        written = self._store.write(records)
        self.written += written
        return written

    def _spill_now(self, records: Sequence[RequestRecord]) -> None:
        self._maybe_spilled = True
        try:
            self._spill.append(records)
        except Exception:  # the disk is full or read-only: say so loudly, the request itself must go on
            logger.exception("could not spill %d request log record(s); they are lost", len(records))

    def _mark_down(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = asyncio.get_running_loop().time()
            logger.warning(
                "request log database %s is unreachable (%s); keeping records in memory (up to %d), then in %s",
                self._store.url,
                _brief(exc),
                self._settings.queue_size,
                self._spill.configured,
            )

    def _mark_up(self) -> None:
        if self._down_since is not None:
            seconds = asyncio.get_running_loop().time() - self._down_since
            self._down_since = None
            logger.warning("request log database is back after %.1f s; writing the kept records", seconds)


def _brief(exc: BaseException) -> str:
    """The error without SQLAlchemy's echo of the parameters (they hold prompts and bodies)."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return f"{type(original or exc).__name__}: {text[0] if text else ''}"[:300]
