"""Assemble the limits stage from the config: counters (Redis with in-process fallback, or in-process), the
deployment admission hook, budget alerts, and the background seeding of spend from the database."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.config.models import GatewayConfig
from gateway.db import Database
from gateway.keys.cache import KeyCache
from gateway.limits.counters import Counters, LocalCounters
from gateway.limits.deployments import DeploymentGate
from gateway.limits.estimate import Estimator, PriceLookup, config_prices
from gateway.limits.failover import FailoverCounters
from gateway.limits.periods import period_bounds
from gateway.limits.plan import budget_counter
from gateway.limits.redis_counters import RedisCounters
from gateway.limits.seed import spend_by_day, total_since
from gateway.limits.stage import LimitsStage
from gateway.pipeline.context import Limits
from gateway.routing.router import Router

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("gateway.limits")


def build_limits(
    config: GatewayConfig,
    router: Router,
    database: Database,
    keys: KeyCache,
    redis: Redis | None,
    prices: PriceLookup = config_prices,
) -> LimitsStage:
    prefix = config.gateway.redis_key_prefix
    counters: Counters = LocalCounters()
    if redis is not None:
        counters = FailoverCounters(RedisCounters(redis, prefix), LocalCounters())
    gate = None
    if any(d.rpm is not None or d.tpm is not None for d in router.all_deployments()):
        gate = DeploymentGate(counters)
        router.set_admission(gate.admit)
    webhook = config.gateway.budget_alert_webhook
    alerts = None
    if webhook:
        from gateway.limits.alerts import BudgetAlerts  # httpx loads only when alerts are configured

        alerts = BudgetAlerts(webhook, redis, prefix)
    estimator = Estimator(router.deployments, prices, frozenset(router.model_names))
    seeding = asyncio.create_task(seed_spend(database, keys, counters), name="limits-seed")
    return LimitsStage(counters, estimator, deployments=gate, alerts=alerts, seeding=seeding)


async def seed_spend(database: Database, keys: KeyCache, counters: Counters) -> None:
    """Add each budget's spend so far this period (from the daily roll-ups) to its counter."""
    now = datetime.now(UTC)
    budgets: list[tuple[str, str, Limits]] = [
        ("key", entry.principal.key_id or "", entry.principal.key_limits)
        for entry in keys.entries()
        if entry.principal.key_limits.budget_usd is not None and not entry.revoked
    ]
    budgets += [
        ("team", team.id, Limits(budget_usd=team.budget_usd, budget_period=team.budget_period))
        for team in keys.teams()
        if team.budget_usd is not None
    ]
    if not budgets:
        return
    try:
        earliest = min(period_bounds(limits.budget_period, now)[0] for _, _, limits in budgets).date()
        by_key, by_team = await asyncio.to_thread(spend_by_day, database, earliest)
        seeded = 0
        for kind, scope_id, limits in budgets:
            start, end = period_bounds(limits.budget_period, now)
            spent = total_since((by_key if kind == "key" else by_team).get(scope_id, {}), start.date())
            if spent > 0:
                await counters.seed(budget_counter(kind, scope_id, limits.budget_period, start), spent, end.timestamp())
                seeded += 1
        logger.info("budgets: seeded the spend of %d keys/teams from the daily roll-ups", seeded)
    except Exception as exc:
        logger.warning("budgets: could not read past spend from the database (%s); counting from zero", exc)
