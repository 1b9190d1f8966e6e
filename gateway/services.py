"""What the handlers use: the parts ``gateway.wiring.build`` assembled, one object per process.

It sits below both the composition root and the HTTP layer: ``gateway.wiring`` builds it, and the app's lifespan
hands it to every request as lifespan state (``gateway.http.services.services(request)`` reads it back).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.auth import Authenticator
from gateway.bus import InvalidationBus
from gateway.config.models import GatewayConfig
from gateway.costs.tokens import TokenCounter
from gateway.db import Database
from gateway.pipeline.service import Pipeline
from gateway.responses_state import ResponseStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from gateway.keys.cache import KeyCache
    from gateway.telemetry import Telemetry

ReadinessCheck = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class Services:
    config: GatewayConfig
    pipeline: Pipeline
    auth: Authenticator
    started_at: int
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)  # name -> check; raises when not ready
    database: Database | None = None
    redis: Redis | None = None
    bus: InvalidationBus | None = None
    tokens: TokenCounter = field(default_factory=TokenCounter)  # local counts (/v1/messages/count_tokens)
    responses: ResponseStore | None = None  # stored Responses API responses; None when gateway.responses_store is off
    telemetry: Telemetry | None = None  # traces and metrics; None when both are off
    keys: KeyCache | None = None  # the virtual keys in memory (the dashboard reads names from it)

    @property
    def tracing(self) -> bool:
        return self.telemetry is not None and self.telemetry.tracing is not None
