"""Redis counters that fall back to in-process ones while Redis cannot be reached.

Requests must not fail because Redis did: while it is down, limits are counted in this process (so each replica
enforces them on its own traffic) and one warning is logged per outage. Redis is tried again at most once a
``retry_seconds``; when it answers, counting goes back to it. A reservation is settled where it was taken; a
settlement that could not reach Redis is kept (bounded) and applied when Redis is back, so budgets do not stay
reserved for requests that ended during the outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from gateway.limits.counters import Check, LocalCounters, Settle, Taken
from gateway.limits.redis_counters import RedisCounters

logger = logging.getLogger("gateway.limits")
_MAX_PENDING = 10_000


class FailoverCounters:
    def __init__(
        self,
        redis: RedisCounters,
        local: LocalCounters,
        *,
        retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._local = local
        self._retry = retry_seconds
        self._clock = clock
        self._down_until: float | None = None
        self._pending: list[Settle] = []

    @property
    def redis_down(self) -> bool:
        return self._down_until is not None

    def source(self) -> str:
        return "redis" if self._redis_usable() else "local"

    async def take(self, checks: Sequence[Check]) -> Taken:
        if self._redis_usable():
            try:
                taken = await self._redis.take(checks)
            except Exception as exc:  # any Redis failure: count here rather than fail the request
                self._lost(exc)
            else:
                await self._back()
                return taken
        return self._local.take_now(checks)

    async def settle(self, items: Sequence[Settle], source: str) -> tuple[float, ...] | None:
        if source != "redis":
            return await self._local.settle(items)
        try:
            settled = await self._redis.settle(items)
        except Exception as exc:
            self._lost(exc)
            if len(self._pending) < _MAX_PENDING:
                self._pending.extend(items)
            return None
        await self._back()
        return settled

    async def seed(self, key: str, spent: float, expire_at: float, cutoff: float) -> None:
        await self._local.seed(key, spent, expire_at, cutoff)
        try:
            await self._redis.seed(key, spent, expire_at, cutoff)
        except Exception as exc:
            self._lost(exc)

    def _redis_usable(self) -> bool:
        return self._down_until is None or self._clock() >= self._down_until

    def _lost(self, exc: Exception) -> None:
        if self._down_until is None:
            logger.warning(
                "Redis is unreachable (%s: %s); rate limits and budgets are counted in this process until it "
                "returns",
                type(exc).__name__,
                exc,
            )
        self._down_until = self._clock() + self._retry

    async def _back(self) -> None:
        if self._down_until is None:
            return
        self._down_until = None
        logger.warning("Redis is reachable again; rate limits and budgets are shared through it again")
        pending, self._pending = self._pending, []
        if pending:
            try:
                await self._redis.settle(pending)
            except Exception as exc:
                self._lost(exc)
                self._pending = pending[:_MAX_PENDING]
