"""``create_app(config)``: the ASGI application.

Nothing happens at import time. The lifespan builds the upstream session, the providers, the router and the
pipeline (``gateway.wiring``), hands them to every request as lifespan state (``services``), and closes them at
shutdown. It changes nothing process-wide: ``gateway serve`` does that (``on_started``). A test can hand in its
own ``aiohttp.ClientSession`` or record sink, and call the app through ``httpx.ASGITransport``.

The top level is a plain Starlette app: the proxy routes need no dependency injection or validation layer, and
FastAPI's per-request telemetry hook measurably costs CPU on the hot path. The admin API, which benefits from
FastAPI's validation and OpenAPI docs (``/admin/docs``), is a FastAPI app mounted at ``/admin``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount

from gateway.config.models import GatewayConfig
from gateway.errors import GatewayError
from gateway.http.admin import LazyAdmin
from gateway.http.middleware import RequestIdMiddleware
from gateway.http.responses import handle_gateway_error, handle_not_found, handle_unexpected
from gateway.http.routes import ROUTES
from gateway.http.ui import LazyUI
from gateway.pipeline.records import RecordSink
from gateway.wiring import build

EXCEPTION_HANDLERS = {
    GatewayError: handle_gateway_error,
    HTTPException: handle_not_found,
    Exception: handle_unexpected,
}


def create_app(
    config: GatewayConfig,
    *,
    session: aiohttp.ClientSession | None = None,
    sink: RecordSink | None = None,
    on_started: Callable[[], None] | None = None,
) -> Starlette:
    """``on_started`` is called once start-up is complete, before the first request: ``gateway serve`` tunes its
    process there (``gateway.server.tune_gc``). An app run inside another program leaves that program's settings
    alone."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        async with AsyncExitStack() as stack:
            services = await build(config, stack, session=session, sink=sink)
            if on_started is not None:
                on_started()
            yield {"services": services}

    return Starlette(
        routes=[*ROUTES, Mount("/admin", app=LazyAdmin(EXCEPTION_HANDLERS)), Mount("/ui", app=LazyUI())],
        middleware=[Middleware(RequestIdMiddleware, on_error=handle_unexpected)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
