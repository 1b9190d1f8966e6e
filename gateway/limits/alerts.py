"""Budget alerts: a webhook POSTed when a key's or team's spend reaches 80% and 100% of its budget.

Each threshold fires once per period per key or team: a set in memory stops repeats in this process, and with
Redis a ``SET NX`` stops them across replicas. The POST runs in a background task (never on the request path),
with a few retries; a webhook that stays down costs a warning, not a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.limits.periods import iso_z

if TYPE_CHECKING:
    import httpx
    from redis.asyncio import Redis

THRESHOLDS = (0.8, 1.0)
_ATTEMPTS = 3
_MAX_IN_FLIGHT = 100
logger = logging.getLogger("gateway.limits.alerts")


@dataclass(frozen=True, slots=True)
class BudgetState:
    scope: str  # "key" or "team"
    id: str
    name: str | None
    budget_usd: float
    spent_usd: float
    period: str
    start: datetime
    end: datetime


class BudgetAlerts:
    def __init__(self, url: str, redis: Redis | None, prefix: str, *, timeout: float = 5.0) -> None:
        self._url = url
        self._redis = redis
        self._prefix = prefix + "alerts:"
        import httpx  # noqa: PLC0415 - only gateways with a webhook pay for the import

        self._client: httpx.AsyncClient = httpx.AsyncClient(timeout=timeout)
        self._sent: dict[str, float] = {}  # token -> end of its period
        self._tasks: set[asyncio.Task[None]] = set()

    def observe(self, state: BudgetState, *, exhausted: bool = False) -> None:
        """Called after spend changed (or a request was refused for the budget); never blocks."""
        ratio = 1.0 if exhausted else state.spent_usd / state.budget_usd if state.budget_usd > 0 else 1.0
        for threshold in THRESHOLDS:
            if ratio + 1e-9 < threshold:
                break
            token = f"{state.scope}:{state.id}:{state.period}:{state.start:%Y%m%d}:{round(threshold * 100)}"
            if token in self._sent or len(self._tasks) >= _MAX_IN_FLIGHT:
                continue
            self._remember(token, state.end.timestamp())
            task = asyncio.create_task(self._fire(token, threshold, state), name="budget-alert")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _remember(self, token: str, until: float) -> None:
        if len(self._sent) >= 10_000:  # keep memory bounded: tokens of ended periods can go
            now = time.time()
            self._sent = {t: end for t, end in self._sent.items() if end > now}
        self._sent[token] = until

    async def aclose(self) -> None:
        if self._tasks:
            # Alerts already decided should still go out at shutdown, within a short grace period.
            await asyncio.wait(list(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()

    async def _fire(self, token: str, threshold: float, state: BudgetState) -> None:
        import httpx  # noqa: PLC0415 - httpx, only with a webhook

        if not await self._first_replica(token, state):
            return
        payload = _payload(threshold, state)
        for attempt in range(_ATTEMPTS):
            try:
                response = await self._client.post(self._url, json=payload)
                if response.status_code < 400:
                    logger.info("budget alert sent: %s %s at %d%%", state.scope, state.id, round(threshold * 100))
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.5 * 2**attempt)
        logger.warning("budget alert for %s %s could not be delivered (%s)", state.scope, state.id, problem)

    async def _first_replica(self, token: str, state: BudgetState) -> bool:
        if self._redis is None:
            return True
        try:
            until = int(state.end.timestamp()) + 86400
            return bool(await self._redis.set(self._prefix + token, "1", nx=True, exat=until))
        except Exception as exc:  # Redis down: better a duplicate alert than a lost one
            logger.warning("budget alert dedupe skipped, Redis unreachable (%s)", exc)
            return True


def _payload(threshold: float, state: BudgetState) -> dict[str, Any]:
    return {
        "event": "budget.threshold",
        "threshold": threshold,
        "scope": state.scope,
        "id": state.id,
        "name": state.name,
        "budget_usd": state.budget_usd,
        "spent_usd": round(state.spent_usd, 10),
        "period": state.period,
        "period_start": iso_z(state.start),
        "period_end": iso_z(state.end),
    }
