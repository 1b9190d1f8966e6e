"""Assemble the limits stage from the config: counters (Redis with in-process fallback, or in-process), the
deployment admission hook, budget alerts, and the background seeding of spend from the database."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.config.models import GatewayConfig
from gateway.db import Database
from gateway.keys.cache import KeyCache
from gateway.limits.breaker import BreakerSettings
from gateway.limits.counters import Counters, LocalCounters
from gateway.limits.deployments import DeploymentGate
from gateway.limits.estimate import Estimator, PriceLookup, config_prices
from gateway.limits.failover import FailoverCounters
from gateway.limits.redis_counters import RedisCounters
from gateway.limits.seed import SpendSeeder
from gateway.limits.stage import LimitsStage
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
    breaker: BreakerSettings | None = None,
) -> LimitsStage:
    prefix = config.gateway.redis_key_prefix
    counters: Counters = LocalCounters()
    failover = None
    if redis is not None:
        counters = failover = FailoverCounters(RedisCounters(redis, prefix), LocalCounters(), settings=breaker)
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
    seeder = SpendSeeder(database, keys, counters)
    seeder.trigger()
    if failover is not None:
        failover.on_data_lost(seeder.reseed)  # Redis restarted empty: the budgets' spend so far counts again
    keys.on_reload(seeder.trigger)  # a budget may have been added: its spend so far this period counts
    return LimitsStage(counters, estimator, deployments=gate, alerts=alerts, seeder=seeder)

