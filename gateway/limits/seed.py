"""Spend so far in the current period, read from the daily roll-ups, so that budgets survive restarts.

``SpendSeeder`` runs in the background (never per request): once at start-up, and again after the key cache
reloads, since a budget may have been added since. Each run is one query on ``daily_rollups`` (cost per key, team
and UTC day) and one ``Counters.seed`` per budget, which adds the spend only to a counter that did not exist
before the run began: a counter that did has been counting all along (see ``gateway.limits.counters``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import text

from gateway.db import Database
from gateway.keys.cache import KeyCache
from gateway.limits.counters import Counters
from gateway.limits.periods import period_bounds
from gateway.limits.plan import budget_counter
from gateway.pipeline.context import Limits

Spend = dict[str, dict[date, float]]
_QUERY = text(
    "SELECT key_id, team_id, day, SUM(cost_usd) FROM daily_rollups WHERE day >= :since "
    "GROUP BY key_id, team_id, day"
)
logger = logging.getLogger("gateway.limits")


class SpendSeeder:
    def __init__(self, database: Database, keys: KeyCache, counters: Counters) -> None:
        self._db = database
        self._keys = keys
        self._counters = counters
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._seeded: set[str] = set()  # counters this process has seeded (or found authoritative) already

    def trigger(self) -> None:
        """Seed soon, in the background; a trigger during a run makes one more run."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="limits-seed")
        else:
            self._again = True

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self.seed_once()
            except Exception as exc:
                logger.warning("budgets: could not read past spend from the database (%s); counting from zero", exc)
            if not self._again:
                return

    async def seed_once(self) -> None:
        cutoff = time.time()
        now = datetime.now(UTC)
        budgets = [
            (kind, scope_id, limits, budget_counter(kind, scope_id, limits.budget_period, start), end)
            for kind, scope_id, limits in self._budgets()
            for start, end in [period_bounds(limits.budget_period, now)]
        ]
        budgets = [budget for budget in budgets if budget[3] not in self._seeded]
        if not budgets:
            return
        earliest = min(period_bounds(limits.budget_period, now)[0] for _, _, limits, _, _ in budgets).date()
        by_key, by_team = await asyncio.to_thread(spend_by_day, self._db, earliest)
        if len(self._seeded) > 100_000:  # counters of past periods: keep memory bounded
            self._seeded.clear()
        for kind, scope_id, limits, counter, end in budgets:
            start = period_bounds(limits.budget_period, now)[0]
            spent = total_since((by_key if kind == "key" else by_team).get(scope_id, {}), start.date())
            await self._counters.seed(counter, spent, end.timestamp(), cutoff)
            self._seeded.add(counter)
        logger.info("budgets: seeded the spend of %d keys/teams from the daily roll-ups", len(budgets))

    def _budgets(self) -> list[tuple[str, str, Limits]]:
        budgets: list[tuple[str, str, Limits]] = [
            ("key", entry.principal.key_id or "", entry.principal.key_limits)
            for entry in self._keys.entries()
            if entry.principal.key_limits.budget_usd is not None and not entry.revoked
        ]
        budgets += [
            ("team", team.id, Limits(budget_usd=team.budget_usd, budget_period=team.budget_period))
            for team in self._keys.teams()
            if team.budget_usd is not None
        ]
        return budgets


def spend_by_day(db: Database, since: date) -> tuple[Spend, Spend]:
    """(per key id, per team id) -> {day: cost} for every day from ``since``."""
    keys: Spend = defaultdict(lambda: defaultdict(float))
    teams: Spend = defaultdict(lambda: defaultdict(float))
    with db.engine.connect() as connection:
        for key_id, team_id, raw_day, cost in connection.execute(_QUERY, {"since": since}):
            day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))  # SQLite: text
            if key_id:
                keys[key_id][day] += float(cost or 0)
            if team_id:
                teams[team_id][day] += float(cost or 0)
    return keys, teams


def total_since(days: dict[date, float], start: date) -> float:
    return sum(cost for day, cost in days.items() if day >= start)
