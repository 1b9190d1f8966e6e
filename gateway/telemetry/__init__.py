"""Telemetry: OpenTelemetry traces (``tracing``) and Prometheus metrics (``metrics``), named in ``semconv``.

``Telemetry`` is the pipeline's ``Observer`` (``gateway.pipeline.observer``): the pipeline tells it when a request
starts and ends (with its record, the one source of every metric), and, for a traced request, each stage and
each upstream attempt. The router tells it of failed attempts (errors and cooldowns by deployment). Built by
``start_telemetry`` in the composition root; None when traces and metrics are both off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, AsyncExitStack, nullcontext
from typing import TYPE_CHECKING, TypeVar

from gateway.config.models import GatewayConfig
from gateway.ledger import LedgerWriter
from gateway.pipeline.context import RequestContext
from gateway.pipeline.records import RequestRecord
from gateway.routing.deployment import Deployment
from gateway.routing.router import Router
from gateway.tasks import cancel_and_wait
from gateway.telemetry.light import tracing_wanted

if TYPE_CHECKING:  # OpenTelemetry and prometheus-client are loaded only by a gateway that turns them on
    from gateway.telemetry.metrics import Metrics
    from gateway.telemetry.tracing import Tracing

T = TypeVar("T")
logger = logging.getLogger("gateway.telemetry")
BACKLOG_INTERVAL = 1.0  # seconds between readings of the log writer's queue, spill and lag

__all__ = ["Telemetry", "start_telemetry"]


class Telemetry:
    def __init__(self, tracing: Tracing | None, metrics: Metrics | None) -> None:
        self.tracing = tracing
        self.metrics = metrics

    def started(self, ctx: RequestContext) -> None:
        if self.tracing is None:
            return
        try:
            self.tracing.start_request(ctx)
        except Exception:  # the request goes on untraced
            logger.exception("tracing failed to start request %s", ctx.request_id)

    def stage(self, ctx: RequestContext, stage: str) -> AbstractContextManager[object]:
        return self.tracing.stage(ctx, stage) if self.tracing is not None else nullcontext()

    def attempts(
        self, ctx: RequestContext, call: Callable[[Deployment], Awaitable[T]]
    ) -> Callable[[Deployment], Awaitable[T]]:
        return self.tracing.attempts(ctx, call) if self.tracing is not None else call

    def finished(self, ctx: RequestContext, record: RequestRecord) -> None:
        try:
            if self.metrics is not None:
                self.metrics.observe(ctx, record)
            if self.tracing is not None and ctx.trace is not None:
                self.tracing.finish(ctx, record)
        except Exception:  # telemetry must never cost a request its answer or its record
            logger.exception("telemetry failed for request %s", ctx.request_id)


async def start_telemetry(
    config: GatewayConfig, router: Router, writer: LedgerWriter | None, stack: AsyncExitStack
) -> Telemetry | None:
    settings = config.gateway.telemetry
    tracing = _tracing(config)
    if tracing is not None:
        stack.push_async_callback(tracing.aclose)
        logger.info("tracing on: spans exported over OTLP")
    metrics = _metrics(router) if settings.metrics else None
    if metrics is not None:
        router.set_failure_hook(metrics.upstream_failure)
        if writer is not None:
            task = asyncio.create_task(_watch_backlog(metrics, writer), name="metrics-backlog")
            stack.push_async_callback(cancel_and_wait, task)
    return Telemetry(tracing, metrics) if tracing is not None or metrics is not None else None


def _tracing(config: GatewayConfig) -> Tracing | None:
    if not tracing_wanted(config.gateway.telemetry):
        return None
    from gateway.telemetry.tracing import start_tracing  # noqa: PLC0415 - OpenTelemetry, only when on

    return start_tracing(config.gateway.telemetry)


def _metrics(router: Router) -> Metrics:
    from gateway.telemetry.metrics import Metrics  # noqa: PLC0415 - prometheus-client, only when on

    return Metrics(router.model_names)


async def _watch_backlog(metrics: Metrics, writer: LedgerWriter) -> None:
    while True:
        metrics.backlog(*writer.backlog())
        await asyncio.sleep(BACKLOG_INTERVAL)
