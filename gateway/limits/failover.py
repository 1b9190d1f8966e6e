"""Redis counters that fall back to in-process ones while Redis cannot be reached, without forgetting the counts.

Requests must not fail, nor wait long, because Redis did. Every Redis operation goes through a circuit breaker
(``gateway.limits.breaker``): a short timeout per operation, open after a few failures, closed again by a probe in
the background. While Redis is out of reach:

* limits are counted in this process, starting from the levels this process last saw in Redis (``outage.Seen``),
  not from a full bucket and an empty budget; one warning is logged per outage;
* what is counted here is kept apart (``outage.Apart``), and settlements of reservations taken in Redis wait
  (bounded) for its return.

When Redis answers again (the probe, or the epoch check in every script, see ``redis_counters``) the process
reconciles once: it adds what it counted apart, and, when Redis lost its data (restarted empty), restores the
levels it last saw (a bucket never fuller, a budget never lower) and asks for a reseed of the budgets from the
database (``on_data_lost``). Only Redis being out of reach is handled here: any other error propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from gateway.limits.breaker import REDIS_DOWN, Breaker, BreakerSettings
from gateway.limits.counters import Check, LocalCounters, Settle, Taken
from gateway.limits.outage import Apart, Seen
from gateway.limits.redis_counters import EpochChanged, RedisCounters, Restore, Unseeded

logger = logging.getLogger("gateway.limits")
_MAX_PENDING = 10_000
#: After an operation timed out but then succeeded, the timeout is this many times longer for this many seconds.
_SLOW_FACTOR = 4
_SLOW_SECONDS = 10.0
_UNAVAILABLE: tuple[type[BaseException], ...] = (*REDIS_DOWN, EpochChanged)
T = TypeVar("T")
#: The spend so far of a budget counter from the durable record (the database), or None when it cannot be read.
PastSpend = Callable[[str], Awaitable[float | None]]
#: While Redis is out of reach, a local budget is raised to the database's spend so far at most this often (s).
OUTAGE_REFRESH_SECONDS = 1.0


class FailoverCounters:
    def __init__(
        self,
        redis: RedisCounters,
        local: LocalCounters,
        *,
        settings: BreakerSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._local = local
        self._breaker = Breaker(settings or BreakerSettings())
        self._seen = Seen(clock)
        self._apart = Apart(clock)
        self._pending: list[Settle] = []
        self._batch: tuple[str, list[Restore]] | None = None  # retried as one until Redis has it
        self._lock = asyncio.Lock()
        self._outage = False  # the local counters are in use since the last Redis operation that succeeded
        self._clock = clock
        self._slow_until = 0.0  # until then, Redis operations get a longer timeout (see ``_slow_not_down``)
        self._on_data_lost: list[Callable[[], None]] = []
        self._past_spend: PastSpend | None = None
        self._followed: dict[str, float] = {}  # budget counter -> when the database's spend was last read (outage)
        self._seeding: dict[str, asyncio.Task[None]] = {}  # counters being seeded, so concurrent takes share one
        self._tasks: set[asyncio.Task[None]] = set()
        self._probe: asyncio.Task[None] | None = None

    def source(self) -> str:
        return "redis" if self._breaker.closed else "local"

    def on_data_lost(self, callback: Callable[[], None]) -> None:
        """``callback`` runs when Redis is found to have lost its data (after a restart, once per restart)."""
        self._on_data_lost.append(callback)

    def seed_from(self, past_spend: PastSpend) -> None:
        """Where a budget counter gets the spend so far: when Redis does not hold it (``redis_counters.Unseeded``),
        and while Redis is out of reach (``_follow_database``)."""
        self._past_spend = past_spend

    async def take(self, checks: Sequence[Check]) -> Taken:
        if self._breaker.closed:
            try:
                taken = await self._take_shared(checks)
            except _UNAVAILABLE as exc:
                self._failed(exc)
            else:
                self._seen.taken(checks, taken)
                return taken
        await self._follow_database(checks)
        return self._take_here(checks)

    async def _take_shared(self, checks: Sequence[Check]) -> Taken:
        """A take in Redis; a budget counter Redis does not hold seeded is seeded first (at most once per check)."""
        for _ in checks:
            try:
                return await self._shared(lambda: self._redis.take(checks), lambda t: self._undo(checks, t))
            except Unseeded as missing:
                await self._seed_missing(missing.check)
        return await self._shared(lambda: self._redis.take(checks), lambda t: self._undo(checks, t))

    async def _seed_missing(self, check: Check) -> None:
        task = self._seeding.get(check.key)
        if task is None:
            task = self._seeding[check.key] = asyncio.ensure_future(self._seed_counter(check))
            task.add_done_callback(lambda _: self._seeding.pop(check.key, None))
        await asyncio.shield(task)

    async def _seed_counter(self, check: Check) -> None:
        """The spend so far: the database's view, or the level this process last saw if that is higher."""
        past = await self._past_spend(check.key) if self._past_spend is not None else None
        seen = self._seen.levels.get(check.key)
        level = max(past or 0.0, seen.level if seen is not None and seen.kind == "budget" else 0.0)
        if seen is not None:
            logger.warning(
                "budget counter %s was missing from Redis (deleted or evicted); reseeded with $%.6g spent so far",
                check.key, level,
            )
        await self._shared(lambda: self._redis.seed(check.key, level, check.expire_at))

    async def _follow_database(self, checks: Sequence[Check]) -> None:
        """While Redis is out of reach, a local budget counts on from the spend so far in the database, which every
        replica still writes: read at most once a second per counter, so replicas see each other's outage spend
        (within that second and the request log's flush interval) instead of each spending what it last saw left."""
        if self._past_spend is None:
            return
        now = self._clock()
        if len(self._followed) > 100_000:
            self._followed.clear()
        for check in checks:
            if check.kind != "budget" or now - self._followed.get(check.key, -OUTAGE_REFRESH_SECONDS) < (
                OUTAGE_REFRESH_SECONDS
            ):
                continue
            self._followed[check.key] = now
            try:
                past = await asyncio.wait_for(self._past_spend(check.key), self._breaker.settings.reconcile_timeout)
            except TimeoutError:
                continue
            if past is not None:
                await self._local.seed(check.key, past, check.expire_at)

    async def settle(self, items: Sequence[Settle], source: str) -> tuple[float, ...] | None:
        if source != "redis":
            levels = await self._local.settle(items)
            self._apart.settled(items)  # added to Redis by the next reconcile
            self._soon()
            return levels
        if self._breaker.closed:
            try:
                settled = await self._shared(lambda: self._redis.settle(items), lambda t: self._keep(items, t))
            except TimeoutError as exc:  # it may still land: kept for later only if it fails (see ``_keep``)
                self._failed(exc)
                return None
            except _UNAVAILABLE as exc:
                self._failed(exc)
            else:
                self._seen.settled(items, settled)
                return settled
        self._keep(items, None)
        return None

    async def seed(self, key: str, spent: float, expire_at: float) -> None:
        await self._local.seed(key, spent, expire_at)
        if self._breaker.closed:
            try:
                await self._shared(lambda: self._redis.seed(key, spent, expire_at))
            except _UNAVAILABLE as exc:
                self._failed(exc)

    async def aclose(self) -> None:
        for task in [*self._tasks, *([self._probe] if self._probe else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _shared(
        self, operation: Callable[[], Awaitable[T]], late: Callable[[asyncio.Future[T]], None] | None = None
    ) -> T:
        """One Redis operation within the breaker's timeout; reconciles first if Redis lost its data."""
        epoch = self._redis.epoch
        try:
            result = await self._within(operation, late)
        except EpochChanged:
            await asyncio.wait_for(self._reconcile(epoch), self._breaker.settings.reconcile_timeout)
            result = await self._within(operation, late)
        self._breaker.succeeded()
        self._outage = False  # the next local count starts again from the levels seen until now
        self._soon()
        return result

    async def _within(
        self, operation: Callable[[], Awaitable[T]], late: Callable[[asyncio.Future[T]], None] | None
    ) -> T:
        """The request waits ``timeout`` at most. The operation itself is not cancelled (a command may have reached
        Redis): when it ends after the request moved on, ``late`` sees its outcome and makes up for it."""
        future = asyncio.ensure_future(operation())
        timeout = self._breaker.settings.timeout
        if self._clock() < self._slow_until:  # Redis (or this loop) is slow, not down: counting here loosens limits
            timeout *= _SLOW_FACTOR
        done, _ = await asyncio.wait((future,), timeout=timeout)
        if not done:
            future.add_done_callback(late or _retrieve)
            future.add_done_callback(self._slow_not_down)
            raise TimeoutError
        return future.result()

    def _slow_not_down(self, future: asyncio.Future[Any]) -> None:
        """An operation that timed out but then succeeded: Redis is slow (or this process is), not down."""
        if not future.cancelled() and future.exception() is None and self._breaker.closed:
            self._breaker.succeeded()
            self._slow_until = self._clock() + _SLOW_SECONDS

    def _undo(self, checks: Sequence[Check], future: asyncio.Future[Taken]) -> None:
        """A take that landed after its request was counted here: give back what it took in Redis."""
        if future.cancelled() or future.exception() is not None or not future.result().ok:
            return
        taken = future.result()
        items = [
            Settle(check.key, check.kind, check.limit, amount, 0.0, check.expire_at)
            for check, amount in zip(checks, taken.taken, strict=True)
        ]
        self._keep(items, None)
        self._soon()

    def _keep(self, items: Sequence[Settle], future: asyncio.Future[tuple[float, ...]] | None) -> None:
        """Settlements for Redis that did not land (``future`` failed, or none was sent): replayed on return."""
        if future is not None and (future.cancelled() or future.exception() is None):
            return
        if len(self._pending) < _MAX_PENDING:
            self._pending.extend(items)

    def _take_here(self, checks: Sequence[Check]) -> Taken:
        if not self._outage:
            self._outage = True
            self._seen.hold(self._local)  # count on from the shared levels, not from zero
        taken = self._local.take_now(checks)
        self._apart.taken(checks, taken)
        return taken

    def _failed(self, exc: BaseException) -> None:
        if not self._breaker.failed():
            return
        logger.warning(
            "Redis is unreachable (%s); rate limits and budgets are counted in this process, from the levels last "
            "seen in Redis, until it returns", type(exc).__name__,
        )
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._probe_until_back(), name="limits-redis-probe")

    def _soon(self) -> None:
        """Reconcile in the background when something waits for Redis and Redis is usable."""
        if self._breaker.closed and (self._apart or self._pending or self._batch) and not self._lock.locked():
            task = asyncio.create_task(self._reconcile_quietly(), name="limits-reconcile")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _probe_until_back(self) -> None:
        settings = self._breaker.settings
        while True:
            await asyncio.sleep(settings.probe_interval)
            try:
                await asyncio.wait_for(self._redis.ping(), settings.reconcile_timeout)
                await asyncio.wait_for(self._reconcile(), settings.reconcile_timeout)
            except _UNAVAILABLE:
                continue
            except Exception:  # a bug must not stop the probing (the breaker would stay open): log it, try again
                logger.exception("limits: reconciling with Redis failed")
                continue
            self._breaker.close()
            logger.warning("Redis is reachable again; rate limits and budgets are shared through it again")
            return

    async def _reconcile_quietly(self) -> None:
        try:
            await asyncio.wait_for(self._reconcile(), self._breaker.settings.reconcile_timeout)
        except _UNAVAILABLE as exc:
            self._failed(exc)

    async def _reconcile(self, stale_epoch: str | None = None) -> None:
        """Once per outage or restart: add what was counted apart, restore lost levels, replay settlements.

        ``stale_epoch``: the epoch a refused operation carried; if another request has reconciled since, done."""
        async with self._lock:
            if stale_epoch is not None and self._redis.epoch != stale_epoch:
                return
            while True:  # a batch that failed is sent again as it was (once), then what was counted since
                await self._send_batch()
                if not self._apart:
                    break
            self._outage = False
            self._followed.clear()  # the next outage reads the database's spend afresh
            pending, self._pending = self._pending, []
            if pending:
                try:
                    await self._redis.settle(pending)
                except _UNAVAILABLE:
                    self._pending = pending[:_MAX_PENDING]
                    raise

    async def _send_batch(self) -> None:
        if self._batch is None:
            self._batch = (secrets.token_hex(8), self._apart.batch(self._seen))
        batch, items = self._batch
        known = self._redis.epoch
        lost = await self._redis.reconcile(batch, items)
        self._batch = None
        if lost and known:
            logger.warning("Redis lost the limit counters (restarted empty?); restored %d of them", len(items))
            for callback in self._on_data_lost:
                callback()


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a late operation's exception as seen (asyncio would log it as never retrieved)."""
    if not future.cancelled():
        future.exception()
