"""Spend so far in the current period, read from the daily roll-ups, so that budgets survive restarts.

``SpendSeeder`` runs in the background (never per request): once at start-up, again after the key cache
reloads (a budget may have been added since), and again when Redis lost the counters (``reseed``, after a restart
of Redis with no data). Each run is one query on ``daily_rollups`` (cost per key, team and UTC day) and one
``Counters.seed`` per budget, which raises the counter to at least that spend without counting anything twice
(see ``gateway.limits.counters``).

``past_spend`` reads one counter's spend so far: for a counter Redis does not hold (deleted, evicted, or new this
period), and, at most once a second per counter, while Redis is out of reach (the local counters then follow the
spend every replica writes to the database; see ``gateway.limits.failover``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway import redis_errors
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
_SCOPE_QUERY = {
    kind: text(f"SELECT SUM(cost_usd) FROM daily_rollups WHERE {kind}_id = :scope AND day >= :since")
    for kind in ("key", "team")
}
logger = logging.getLogger("gateway.limits")


class SpendSeeder:
    def __init__(self, database: Database, keys: KeyCache, counters: Counters) -> None:
        self._db = database
        self._keys = keys
        self._counters = counters
        self._task: asyncio.Task[None] | None = None
        self._later: asyncio.Task[None] | None = None
        self._again = False
        self._seeded: set[str] = set()  # counters this process has seeded (or found authoritative) already

    def trigger(self) -> None:
        """Seed soon, in the background; a trigger during a run makes one more run."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="limits-seed")
        else:
            self._again = True

    def reseed(self, delay: float = 2.0) -> None:
        """Seed every budget again, ``delay`` seconds from now: Redis lost its counters. The delay lets every replica
        add what it counted during the outage first (a seed counts the spend only its counter does not hold)."""
        if self._later is None or self._later.done():
            self._later = asyncio.create_task(self._reseed_after(delay), name="limits-reseed")

    async def past_spend(self, counter: str) -> float | None:
        """The spend so far of one budget counter (``budget:<kind>:<id>:<period>:<yyyymmdd>``) in the daily
        roll-ups; None when the database cannot be read or the name is not a budget counter's."""
        head, _, start = counter.rpartition(":")
        prefix, _, _period = head.rpartition(":")
        _, kind, scope_id = prefix.split(":", 2) if prefix.count(":") >= 2 else ("", "", "")
        if kind not in _SCOPE_QUERY or len(start) != 8 or not start.isdigit():
            return None
        since = date(int(start[:4]), int(start[4:6]), int(start[6:]))
        try:
            return await asyncio.to_thread(_scope_spend, self._db, kind, scope_id, since)
        except SQLAlchemyError as exc:
            logger.warning("budgets: could not read the spend so far of %s (%s)", counter, type(exc).__name__)
            return None

    async def aclose(self) -> None:
        for task in (self._task, self._later):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _reseed_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._seeded.clear()
        self.trigger()

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self.seed_once()
            except SQLAlchemyError as exc:
                logger.warning(
                    "budgets: could not read past spend from the database (%s); counting from zero", type(exc).__name__
                )
            except redis_errors.unavailable() as exc:
                logger.warning("budgets: Redis is out of reach (%s); seeded in this process only", type(exc).__name__)
            except Exception:  # a bug: logged in full; the next trigger tries again, requests are not affected
                logger.exception("budgets: seeding the spend so far failed")
            if not self._again:
                return

    async def seed_once(self) -> None:
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
            await self._counters.seed(counter, spent, end.timestamp())
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


def _scope_spend(db: Database, kind: str, scope_id: str, since: date) -> float:
    with db.engine.connect() as connection:
        value = connection.execute(_SCOPE_QUERY[kind], {"scope": scope_id, "since": since}).scalar()
    return float(value or 0.0)


def total_since(days: dict[date, float], start: date) -> float:
    return sum(cost for day, cost in days.items() if day >= start)
