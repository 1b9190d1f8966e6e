"""Assemble the running gateway from its config: database, Redis, upstream session, router, stages, pipeline.

``build`` is called by the app's lifespan; it returns the ``Services`` the handlers use, and leaves in the exit
stack what closes everything in reverse order at shutdown. It reads top to bottom: first the parts every stage
may use (``StageParts``), then the stages, each started the same way, from one list in pipeline order
(``stage_classes``), then the pipeline around them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack
from typing import Any

import aiohttp

from gateway.auth import Authenticator
from gateway.bus import InvalidationBus
from gateway.cache.stage import CacheStage
from gateway.config.models import GatewayConfig
from gateway.costs import CostStage
from gateway.costs.prices import DeploymentPrices
from gateway.db import Database
from gateway.keys.cache import KeyCache
from gateway.ledger import LedgerWriter, start_writer
from gateway.ledger.store import is_outage
from gateway.limits.stage import LimitsStage
from gateway.pipeline.records import RecordSink
from gateway.pipeline.service import Pipeline
from gateway.pipeline.stages import Stage, StageParts
from gateway.responses_state import ResponseStore
from gateway.routing.build import build_router, needs_litellm
from gateway.services import ReadinessCheck, Services
from gateway.tasks import cancel_and_wait
from gateway.telemetry import start_telemetry

logger = logging.getLogger("gateway")
PREPARE_RETRY_MAX = 10.0  # seconds between attempts to migrate a database that was down at start-up


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
    readiness: dict[str, Any] = {}  # name -> async check (Redis's ping returns a bool, unused)

    database_url = config.general_settings.database_url
    database = Database(database_url.get_secret_value() if database_url else None)
    stack.callback(database.dispose)
    migrated = await _upgrade(database)  # False: unreachable; the gateway starts anyway (see _prepare_later)
    readiness["database"] = _db_check(database)

    redis = None
    if config.gateway.redis_url is not None:
        import redis.asyncio as aioredis  # noqa: PLC0415 - optional: only a config with a Redis URL pays for it

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
        # litellm imports in a thread while the gateway starts and serves; its first request waits for it
        from gateway.providers.litellm_provider import LiteLLMLoader  # noqa: PLC0415 - httpx, only for litellm

        litellm = LiteLLMLoader().start()
        stack.push_async_callback(litellm.aclose)
    router = build_router(config, session, litellm)
    keys = KeyCache(database, refresh_seconds=config.gateway.key_refresh_seconds)
    await keys.start(bus)  # virtual keys in memory; changes reach every replica through the bus
    stack.push_async_callback(keys.aclose)

    prices = await DeploymentPrices.load()  # litellm's price map (without litellm), with the config's overrides
    parts = StageParts(config, router, database, keys, bus, prices, redis, database_ready=migrated)
    stages = [await stage.start(parts) for stage in stage_classes()]

    writer: LedgerWriter | None = None
    if sink is None:
        # records -> request_logs + daily_rollups, in the background; to the spill file until the database is ready
        writer = await start_writer(config, database, hold=not migrated)
        stack.push_async_callback(writer.aclose)  # (the pipeline closes it first; a second close is a no-op)
        sink = writer
    if not migrated:
        preparing = asyncio.create_task(_prepare_later(database, keys, writer), name="database-prepare")
        stack.push_async_callback(cancel_and_wait, preparing)
    telemetry = await start_telemetry(config, router, writer, stack)  # closed after the pipeline: its last spans
    pipeline = Pipeline(router, sink, stages, observer=telemetry)
    stack.push_async_callback(pipeline.aclose)
    responses = None
    if config.gateway.responses_store:
        responses = ResponseStore(database, config.gateway.responses_retention_days)
        purging = asyncio.create_task(responses.purge_forever(), name="responses-purge")
        stack.push_async_callback(cancel_and_wait, purging)

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
        responses=responses,
        telemetry=telemetry,
        keys=keys,
    )


def stage_classes() -> list[type[Stage]]:
    """The pipeline's stages, in the order they run: every ``before`` top to bottom before the call, every
    ``after`` bottom to top once the request has ended. Each starts as ``await stage.start(parts)``."""
    from gateway.guardrails.stage import GuardrailStage  # noqa: PLC0415 - detectors' libraries load at start-up
    from gateway.prompts.stage import PromptStage  # noqa: PLC0415 - Jinja2 loads at start-up, not with the app module

    return [
        PromptStage,  # prompt references -> rendered messages, model, params: first, later stages see the result
        GuardrailStage,  # after the prompt (it checks the rendered text), before limits, cache and the call
        LimitsStage,  # model access, RPM/TPM and budgets of the key and its team; charges the real cost in `after`
        CacheStage,  # after limits (a hit still counts as a request), before cost (a hit costs 0, its savings noted)
        CostStage,  # last, so its `after` runs first: the stages above see ctx.cost_usd
    ]


async def _upgrade(database: Database) -> bool:
    """Run the migrations; False when a database server cannot be reached (any other failure, and any failure
    of a SQLite file, which cannot be "down", stops the start)."""
    try:
        await asyncio.to_thread(database.upgrade)
    except Exception as exc:
        if database.dialect == "sqlite" or not is_outage(exc):
            raise
        logger.warning(
            "database %s is unreachable (%s): starting without it; the master key works, virtual keys get 503 "
            "until it answers, and request records go to the spill file",
            database.safe_url,
            type(getattr(exc, "orig", None) or exc).__name__,
        )
        return False
    return True


async def _prepare_later(database: Database, keys: KeyCache, writer: LedgerWriter | None) -> None:
    """The database was down at start-up: migrate once it answers, then start the log's writer (it replays the
    spill file) and load the keys (the prompt cache's own refresher loads the prompts)."""
    delay = 1.0
    while not await _upgrade_quietly(database):
        await asyncio.sleep(delay)
        delay = min(delay * 2, PREPARE_RETRY_MAX)
    logger.warning("database %s is reachable: migrations done, loading keys and replaying the spill", database.safe_url)
    if writer is not None:
        await writer.start()
    try:
        await keys.reload()
    except Exception as exc:  # its poll retries
        logger.warning("key cache: first load failed (%s); retrying", type(exc).__name__)


async def _upgrade_quietly(database: Database) -> bool:
    try:
        await asyncio.to_thread(database.upgrade)
    except Exception as exc:  # an outage (expected) or a failing migration: both retried, the latter said
        if not is_outage(exc):
            logger.exception("database migrations failed; retrying")
        return False
    return True


def _db_check(database: Database) -> ReadinessCheck:
    """A ping of the database, one at a time: health checks against a frozen database (each ping holds a worker
    thread until the connect timeout) share the ping in flight instead of filling the thread pool."""
    pending: list[asyncio.Future[None]] = []

    async def check() -> None:
        if not pending or pending[0].done():
            ping = asyncio.ensure_future(asyncio.to_thread(database.ping))
            ping.add_done_callback(_retrieve)
            pending[:] = [ping]
        await asyncio.shield(pending[0])

    return check


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark a shared ping's outcome as seen, so that a failure no one awaited any more is not logged as lost."""
    if not future.cancelled():
        future.exception()
