"""The interface of a pipeline stage, what a stage starts from, and the order stages run in.

A stage is one job on the request path (resolve a prompt, check guardrails, enforce limits, look up the cache,
price the call). The composition root (``gateway.wiring``) starts every stage the same way, ``await
Stage.start(parts)``, in one list in pipeline order. The pipeline calls every stage's ``before`` in that order
before routing, and every stage's ``after`` in reverse order once the request has ended, whatever the outcome,
just before its record is written.

Contract:

* ``start(parts)`` (a classmethod, awaited once at start-up) builds the stage from ``StageParts``: loads what it
  needs into memory, subscribes to ``parts.bus`` for changes, starts its background tasks. What another stage
  also needs (the price of a deployment) is built before the stages and is in ``parts``, so no stage depends on
  another's start. With ``parts.database_ready`` False the database was unreachable at start-up: a stage must
  start anyway and load from it later (on its refresh timer).
* ``before(ctx)`` may rewrite ``ctx.body`` / ``ctx.model``, set fields on ``ctx``, or raise a ``GatewayError``
  to stop the request (it is then recorded with that error). It may return a response body to answer without
  calling the upstream (a cache hit); later stages' ``before`` are then skipped and ``ctx.cache_status`` says why.
  It must not do a database round trip: whatever it needs is in memory or in Redis. Data a stage keeps for its
  own ``after`` goes in ``ctx.keep(name, ...)``; what other stages or the record read is a field of ``ctx``.
* ``answer(ctx, body)`` sees a whole non-streamed answer before the client does (the upstream's, or a stage's
  own: then only the stages before the answering one see it), in reverse list order, and returns it, rewritten or
  not (an output guardrail restores masked values; the cache keeps what the upstream said). It may raise a
  ``GatewayError`` to refuse the answer; the client then gets that error and the record says so.
* ``stream_filter(ctx)`` is called once per stream, after every ``before``; it returns None (most stages) or a
  ``StreamFilter`` that the stream's chunks pass through, in reverse list order, on their way to the client.
* ``after(ctx)`` sees the outcome (``ctx.status``, ``ctx.error``, ``ctx.usage``, ``ctx.deployment``) and may set
  ``ctx.cost_usd`` or add ``ctx.response_headers``. It must not raise; it is awaited before the record is emitted,
  so slow work belongs in a background task.
* ``aclose()`` releases what the stage holds, at shutdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Self

from gateway.localmodels import LocalModels
from gateway.pipeline.context import RequestContext

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from gateway.bus import InvalidationBus
    from gateway.config.models import GatewayConfig
    from gateway.costs.prices import DeploymentPrices
    from gateway.db import Database
    from gateway.keys.cache import KeyCache
    from gateway.routing.router import Router


@dataclass(frozen=True, slots=True)
class StageParts:
    """What a stage may start from: the process's shared parts, all built before the first stage starts."""

    config: GatewayConfig
    router: Router
    database: Database
    keys: KeyCache  # virtual keys and teams in memory; ``on_reload`` tells when they changed
    bus: InvalidationBus  # changes from other replicas; subscribe in ``start``
    prices: DeploymentPrices  # a deployment's price per token (the cost stage prices with it, limits estimate)
    redis: Redis | None = None  # shared counters when configured; stages fall back to memory without it
    database_ready: bool = True  # False: the database was down at start-up; load from it later
    models: LocalModels = field(default_factory=LocalModels)  # local models, loaded once on first use, shared


class StreamFilter(Protocol):
    """One stage's view of one stream (see ``Stage.stream_filter``).

    Contract: ``feed`` gets each batch of chunk payloads (JSON bytes, OpenAI chunk shape, the gateway's own usage
    chunk already hidden from clients that did not ask for it) and returns what goes on towards the client: the
    same list, a rewritten one, or fewer chunks (held back for later; it must not hold more than it needs to
    decide). ``end`` is called once when the upstream's stream ended cleanly and returns what was held back. A
    filter may raise a ``GatewayError`` from either: the stream then ends with an error event and the record
    carries that error. Neither is called after a cut stream; ``end`` not being called is how a filter learns
    that the stream did not finish.
    """

    async def feed(self, payloads: list[bytes]) -> list[bytes]: ...

    async def end(self) -> list[bytes]: ...


class Stage(Protocol):
    name: str

    @classmethod
    async def start(cls, parts: StageParts) -> Self: ...

    async def before(self, ctx: RequestContext) -> bytes | None: ...

    async def answer(self, ctx: RequestContext, body: bytes) -> bytes: ...

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None: ...

    async def after(self, ctx: RequestContext) -> None: ...

    async def aclose(self) -> None: ...
