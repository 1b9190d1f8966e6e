"""Assemble the running gateway from its config: database, Redis, upstream session, router, stages, pipeline.

``build`` is called by the app's lifespan; it returns the ``Services`` the handlers use and an exit stack
that closes everything in reverse order at shutdown. Each feature adds its part here, in the order the
pipeline runs it, so the whole assembly reads top to bottom in one place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack

import aiohttp

from gateway.auth import Authenticator
from gateway.bus import InvalidationBus
from gateway.config.models import GatewayConfig
from gateway.costs import CostStage
from gateway.db import Database
from gateway.http.services import Services
from gateway.keys.cache import KeyCache
from gateway.ledger import start_writer
from gateway.limits.build import build_limits
from gateway.pipeline.records import RecordSink
from gateway.pipeline.service import Pipeline
from gateway.pipeline.stages import Stage
from gateway.routing.build import build_router, needs_litellm

logger = logging.getLogger("gateway")


def new_upstream_session(pool_size: int) -> aiohttp.ClientSession:
    """One pooled session for every upstream call of this process."""
    connector = aiohttp.TCPConnector(limit=pool_size, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30)
    return aiohttp.ClientSession(
        connector=connector, auto_decompress=True, skip_auto_headers=("User-Agent",), raise_for_status=False
    )


async def build(
    config: GatewayConfig,
    stack: AsyncExitStack,
    *,
    session: aiohttp.ClientSession | None = None,
    sink: RecordSink | None = None,
) -> Services:
    readiness = {}

    database_url = config.general_settings.database_url
    database = Database(database_url.get_secret_value() if database_url else None)
    await asyncio.to_thread(database.upgrade)
    stack.callback(database.dispose)
    readiness["database"] = _db_check(database)

    redis = None
    if config.gateway.redis_url is not None:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(config.gateway.redis_url.get_secret_value(), socket_timeout=1.0)
        stack.push_async_callback(redis.aclose)
        readiness["redis"] = redis.ping

    bus = InvalidationBus.for_config(config, database.url, redis)  # subscribers may come before or after start
    stack.push_async_callback(bus.aclose)
    await bus.start()

    if session is None:
        session = new_upstream_session(config.gateway.upstream_pool_size)
        stack.push_async_callback(session.close)
    litellm = None
    if needs_litellm(config):
        from gateway.providers.litellm_provider import load_litellm

        litellm = load_litellm()
    router = build_router(config, session, litellm)
    keys = KeyCache(database, refresh_seconds=config.gateway.key_refresh_seconds)
    await keys.start(bus)  # virtual keys in memory; changes reach every replica through the bus
    stack.push_async_callback(keys.aclose)

    # Stages run in this order before the call, and in reverse after it (see gateway.pipeline.stages).
    stages: list[Stage] = []
    from gateway.prompts.stage import PromptStage  # jinja2 loads here, not when the app module is imported

    # prompt references -> rendered messages, model, params
    stages.append(await PromptStage.start(database, bus, config.gateway.prompt_refresh_seconds))
    cost = await CostStage.start(router)
    stages.append(build_limits(config, router, database, keys, redis, cost.price))  # model access, RPM/TPM, budgets
    stages.append(cost)  # keep last: its `after` runs first, so the others see the cost
    if sink is None:
        sink = await start_writer(config, database)  # records -> request_logs + daily_rollups, in the background
        stack.push_async_callback(sink.aclose)  # (the pipeline closes it first; a second close is a no-op)
    pipeline = Pipeline(router, sink, stages)
    stack.push_async_callback(pipeline.aclose)

    master = config.general_settings.master_key
    logger.info(
        "gateway ready: %d model names, %d deployments, database %s%s",
        len(router.model_names),
        len(router.all_deployments()),
        database.safe_url,
        ", redis" if redis is not None else "",
    )
    return Services(
        config=config,
        pipeline=pipeline,
        auth=Authenticator(master.get_secret_value() if master else None, keys),
        started_at=int(time.time()),
        readiness=readiness,
        database=database,
        redis=redis,
        bus=bus,
    )


def _db_check(database: Database):  # type: ignore[no-untyped-def]
    async def check() -> None:
        await asyncio.to_thread(database.ping)

    return check
