"""The interface of a pipeline stage, and the order stages run in.

A stage is one job on the request path (resolve a prompt, check guardrails, enforce limits, look up the cache,
price the call). The pipeline calls every stage's ``before`` in order before routing, and every stage's
``after`` in reverse order once the request has ended, whatever the outcome, just before its record is written.

Contract:

* ``before(ctx)`` may rewrite ``ctx.body`` / ``ctx.model``, set fields on ``ctx``, or raise a ``GatewayError``
  to stop the request (it is then recorded with that error). It may return a response body to answer without
  calling the upstream (a cache hit); later stages' ``before`` are then skipped and ``ctx.cache_status`` says why.
  It must not do a database round trip: whatever it needs is in memory or in Redis.
* ``after(ctx)`` sees the outcome (``ctx.status``, ``ctx.error``, ``ctx.usage``, ``ctx.deployment``) and may set
  ``ctx.cost_usd`` or add ``ctx.response_headers``. It must not raise; it is awaited before the record is emitted,
  so slow work belongs in a background task.
* ``aclose()`` releases what the stage holds, at shutdown.
"""

from __future__ import annotations

from typing import Protocol

from gateway.pipeline.context import RequestContext


class Stage(Protocol):
    name: str

    async def before(self, ctx: RequestContext) -> bytes | None: ...

    async def after(self, ctx: RequestContext) -> None: ...

    async def aclose(self) -> None: ...
