"""What the pipeline tells telemetry about a request: the one seam between them (``gateway.telemetry`` implements it).

The pipeline holds an ``Observer`` or None. With None (no traces, no metrics) it calls nothing; with one, it calls
``started`` as a request begins and ``finished`` once with its record. ``stage`` and ``attempts`` are asked only
when the request is traced (``ctx.trace`` is not None), so untraced requests pay one attribute test per stage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol, TypeVar

from gateway.routing.deployment import Deployment

if TYPE_CHECKING:
    from gateway.pipeline.context import RequestContext
    from gateway.pipeline.records import RequestRecord

T = TypeVar("T")


class Observer(Protocol):
    def started(self, ctx: RequestContext) -> None:
        """A request begins (before the first stage); a tracer sets ``ctx.trace``."""

    def stage(self, ctx: RequestContext, stage: str) -> AbstractContextManager[object]:
        """Around one stage's ``before`` of a traced request."""

    def attempts(
        self, ctx: RequestContext, call: Callable[[Deployment], Awaitable[T]]
    ) -> Callable[[Deployment], Awaitable[T]]:
        """``call`` (one upstream attempt on a deployment), wrapped so that each attempt of a traced request is
        seen; it may set ``ctx.upstream_headers`` (``traceparent``) for the attempt."""

    def finished(self, ctx: RequestContext, record: RequestRecord) -> None:
        """The request is over and recorded. Must not raise."""
