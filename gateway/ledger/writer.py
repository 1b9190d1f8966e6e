"""The background batch writer: the ``RecordSink`` that puts every request's record in the database.

Contract:

* ``emit(record)`` never blocks and never raises: it appends to an in-memory queue, or to the spill file (one
  buffered write, flushed to the OS: a SIGKILL cannot lose it) when keeping it in memory would risk it:

  - the database is known to be unreachable (every record goes to disk as it arrives);
  - the write in progress has taken longer than ``spill_after`` seconds (the database may be going away: the
    batch in flight and the queue are copied to the spill file at that moment, and new records follow them);
  - the queue holds ``spill_high_water`` records (or ``queue_size``, if smaller);
  - the writer is closed.

  So a SIGKILL or an OOM kill loses at most the records accepted in the last ``spill_after`` seconds before the
  outage was noticed, never more than ``batch_size + spill_high_water``; once it is noticed, none. A record goes
  to memory anyway only when the spill file cannot be written (disk full), up to ``queue_size``.
* A background task writes batches of up to ``batch_size`` records, at least every ``flush_interval`` seconds,
  on the writer's own thread (``LogStore.write``: log rows and roll-ups in one transaction). That thread runs at a
  lower OS priority than the event loop's, so a batch never delays a request more than the interpreter's switch
  interval.
* Database unreachable (``is_outage``): the batch and the queue go to the spill file, a warning is logged once,
  and the database is probed every ``retry_interval`` seconds. When it answers, a warning says so and the spill
  file is replayed. A restart replays it too (the task's first job). Replays cannot double-count: the store skips
  request ids it already has, so a record spilled as a precaution and also written is counted once.
* A batch the database refuses for another reason, or that cannot be serialised, is bisected until the bad
  records stand alone; each is QUARANTINED in the rejected file (``<spill>.rejected.jsonl``, never replayed on its
  own) with a log line naming its request id and the error class, never its content. The others are written.
  The spill file's replay isolates bad records the same way, so one bad line can never wedge it.
* Until ``start()`` the writer only spills (``hold()`` says why: the database was down at start-up).
* ``aclose()`` stops taking new work into the queue (later records go straight to the spill file), writes what is
  queued, and returns; if the database is down, or the drain takes longer than ``drain_timeout``, what is left is
  spilled. It is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.ledger.spill import SpillFile
from gateway.ledger.store import LogStore, is_outage
from gateway.pipeline.records import RequestRecord

#: The writer thread's nice value relative to the process: on a core shared with the event loop, the kernel runs
#: the loop first whenever a request is ready (bench/overhead.py: p90 at concurrency 1 was 3x p50 while a batch ran).
BACKGROUND_NICE = 10
REJECTED_REMEMBERED = 10_000  # request ids of quarantined records remembered, so each is set aside once
logger = logging.getLogger("gateway.ledger")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class WriterSettings:
    batch_size: int = 500
    flush_interval: float = 0.2
    queue_size: int = 10_000
    retry_interval: float = 1.0
    drain_timeout: float = 20.0
    spill_after: float = 1.0
    spill_high_water: int = 1_000


class LedgerWriter:
    def __init__(self, store: LogStore, spill: SpillFile, settings: WriterSettings | None = None) -> None:
        self._store = store
        self._spill = spill
        self._settings = settings or WriterSettings()
        self._high_water = min(self._settings.spill_high_water, self._settings.queue_size)
        self._queue: deque[RequestRecord] = deque()
        self._in_flight: list[RequestRecord] = []  # not yet on disk: lost by a SIGKILL
        self._write_started: float | None = None
        self._has_work = asyncio.Event()
        self._batch_ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._down_since: float | None = None
        self._maybe_spilled = True  # a previous run may have left a spill file: the task's first job is to look
        self._stopped_down = False
        self.written = 0  # rows committed by this writer (new ones only), for tests and metrics
        self.quarantined = 0  # records refused as bad rows, kept in the rejected file
        self._rejected: dict[str, None] = {}  # the request ids set aside lately, oldest first
        # One thread of its own: writes, replays and probes are sequential anyway, and a thread of the loop's
        # default pool would keep the lowered priority for whatever ran on it next.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ledger-writer", initializer=_background_priority)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ledger-writer")

    def hold(self, reason: str) -> None:
        """Spill every record until ``start()`` (called when the database could not be prepared at start-up)."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.warning("request log: %s; records go to %s until it is reachable", reason, self._spill.configured)

    @property
    def healthy(self) -> bool:
        return self._down_since is None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def backlog(self) -> tuple[int, int, float]:
        """For metrics: records queued, bytes in this process's spill file, and the age in seconds of the oldest
        record not yet in the database (0 when none waits)."""
        oldest = self._in_flight[0] if self._in_flight else self._queue[0] if self._queue else None
        path = self._spill.path
        try:
            spilled = path.stat().st_size if path is not None else 0
        except OSError:  # replayed and removed meanwhile
            spilled = 0
        lag = max(0.0, time.time() - oldest.created_at) if oldest is not None else 0.0
        return len(self._queue), spilled, lag

    def state(self) -> dict[str, Any]:
        """What the health report says about the log."""
        return {
            "database": "up" if self._down_since is None else "down",
            "queued": len(self._queue),
            "spilling": self._spilling(),
            "written": self.written,
            "quarantined": self.quarantined,
        }

    def emit(self, record: RequestRecord) -> None:
        if self._to_disk() and (self._spill_now([record]) or len(self._queue) >= self._settings.queue_size):
            return  # on disk; or lost, with an error logged, when neither the disk nor the memory bound held it
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
        if leftover and self._spill_now(leftover):
            logger.warning("%d request log record(s) kept in %s for the next start", len(leftover), self._spill.path)
        self._spill.close()
        self._thread.shutdown(wait=False)  # a write still running (past the drain timeout) ends on its own

    def _to_disk(self) -> bool:
        return self._closed or self._spilling() or len(self._queue) >= self._high_water

    def _spilling(self) -> bool:
        """Whether new records go to disk at once: the database is down, or the write in progress is stalled."""
        if self._down_since is not None:
            return True
        started = self._write_started
        return started is not None and time.monotonic() - started >= self._settings.spill_after

    async def _run(self) -> None:
        if await self._replay_spill():
            self._mark_up()
        while not self._stopping.is_set() or (self._queue and not self._stopped_down):
            try:
                await self._cycle()
            except Exception:  # a bug here must not stop the log: the records stay queued or spilled
                logger.exception("the request log writer failed; retrying")
                await self._pause()

    async def _cycle(self) -> None:
        if self._down_since is not None:
            await self._probe()
            return
        await self._wait_for_batch()
        if not self._queue:
            return
        batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._settings.batch_size))]
        if await self._write(batch):
            await self._replay_spill()
        elif self._stopping.is_set():
            self._stopped_down = True  # stop trying: aclose spills what is left

    async def _probe(self) -> None:
        """While the database is down: wait, ask it, and once it answers replay what was spilled meanwhile."""
        if self._queue and self._spill_now(list(self._queue)):
            self._queue.clear()
        if self._stopping.is_set():
            self._stopped_down = True
            return
        await self._pause()
        try:
            await self._in_thread(self._store.ping)
        except Exception as exc:
            if not is_outage(exc):
                logger.error("request log database probe failed: %s", _brief(exc))
            return
        self._mark_up()
        await self._replay_spill()

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
        """Write one batch, isolating bad records; False when the database is unreachable (the batch is then on
        disk, or back in the queue if the disk failed too)."""
        self._in_flight = batch
        self._write_started = time.monotonic()
        write = asyncio.ensure_future(self._in_thread(self._write_isolating, batch))
        try:
            done, _ = await asyncio.wait({write}, timeout=self._settings.spill_after)
            if not done:
                self._insure()
                await write
            self.written += write.result()
        except Exception as exc:
            self._write_started = None
            self._fail(exc)
            return False
        finally:  # cancelled (a drain past its timeout): aclose spills what is still in flight
            self._write_started = None
        self._in_flight = []
        self._mark_up()
        return True

    def _insure(self) -> None:
        """The write is slow: copy its batch and the queue to the spill file, in case the process dies now."""
        pending = [*self._in_flight, *self._queue]
        if pending and self._spill_now(pending):
            self._in_flight = []
            self._queue.clear()

    def _fail(self, exc: BaseException) -> None:
        if not is_outage(exc):  # a bug or a disk failure while quarantining: keep the records, say so
            logger.error("the request log could not write a batch: %s", _brief(exc))
        self._mark_down(exc)
        batch, self._in_flight = self._in_flight, []
        if batch and not self._spill_now(batch):
            self._queue.extendleft(reversed(batch))
        if self._queue and self._spill_now(list(self._queue)):
            self._queue.clear()

    async def _in_thread(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _write_isolating(self, records: Sequence[RequestRecord]) -> int:
        """Write ``records``; a refusal that is not an outage is bisected down to the bad records, which are
        quarantined. Only outages (and failures to quarantine) escape. Runs in a thread."""
        try:
            return self._store.write(records)
        except Exception as exc:
            if is_outage(exc):
                raise
            if len(records) == 1:
                self._quarantine(records[0], exc)
                return 0
        middle = len(records) // 2
        return self._write_isolating(records[:middle]) + self._write_isolating(records[middle:])

    def _quarantine(self, record: RequestRecord, exc: BaseException) -> None:
        # A slow write's batch is also copied to the spill file (``_insure``), whose replay meets the same bad
        # record again: it is set aside once.
        if record.request_id in self._rejected:
            return
        self._rejected[record.request_id] = None
        if len(self._rejected) > REJECTED_REMEMBERED:
            del self._rejected[next(iter(self._rejected))]
        path = self._spill.reject([record])
        self.quarantined += 1
        logger.error("request log record %s quarantined in %s: %s", record.request_id, path, _brief(exc))

    async def _replay_spill(self) -> bool:
        """Replay the spill file(s) if anything may have been spilled; False on an outage."""
        if not self._maybe_spilled:
            return True
        self._maybe_spilled = False  # set again by any spill from now on, so a line appended meanwhile is seen
        try:
            count = await self._in_thread(self._spill.replay, self._replay_batch, self._settings.batch_size)
        except Exception as exc:
            self._maybe_spilled = True
            if not is_outage(exc):
                logger.exception("replaying the request log's spill file failed")
                return True
            self._mark_down(exc)
            return False
        if count:
            logger.warning("replayed %d request log record(s) from the spill file", count)
        return True

    def _replay_batch(self, records: Sequence[RequestRecord]) -> int:
        written = self._write_isolating(records)
        self.written += written
        return written

    def _spill_now(self, records: Sequence[RequestRecord]) -> bool:
        self._maybe_spilled = True
        try:
            self._spill.append(records)
        except Exception:  # the disk is full or read-only: say so loudly, the request itself must go on
            logger.exception("could not spill %d request log record(s); keeping them in memory", len(records))
            return False
        return True

    def _mark_down(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.warning(
                "request log database %s is unreachable (%s); records go to %s until it is back",
                self._store.url,
                _brief(exc),
                self._spill.configured,
            )

    def _mark_up(self) -> None:
        if self._down_since is not None:
            seconds = time.monotonic() - self._down_since
            self._down_since = None
            logger.warning("request log database is back after %.1f s; writing the kept records", seconds)


def _background_priority() -> None:
    with contextlib.suppress(OSError):  # not Linux, or a sandbox that forbids it: the writer just competes evenly
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICE)


def _brief(exc: BaseException) -> str:
    """The error's class and SQLSTATE, never its text: drivers echo the values (prompts, bodies) in messages."""
    original = getattr(exc, "orig", None) or exc
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return f"{type(original).__name__}" + (f" (SQLSTATE {code})" if code else "")
