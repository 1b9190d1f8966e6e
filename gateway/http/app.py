"""``create_app(config)``: the ASGI application.

Nothing happens at import time. The lifespan builds the upstream session, the providers, the router and the
pipeline (``gateway.wiring``), keeps them on ``app.state.services``, and closes them at shutdown. A test can
hand in its own ``aiohttp.ClientSession`` or record sink, and call the app through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from fastapi import FastAPI
from starlette.exceptions import HTTPException

from gateway import __version__
from gateway.config.models import GatewayConfig
from gateway.errors import GatewayError
from gateway.http.admin import admin_router
from gateway.http.middleware import RequestIdMiddleware
from gateway.http.responses import handle_gateway_error, handle_not_found
from gateway.http.routes import ROUTES
from gateway.pipeline.records import RecordSink
from gateway.wiring import build


def create_app(
    config: GatewayConfig,
    *,
    session: aiohttp.ClientSession | None = None,
    sink: RecordSink | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = await build(config, stack, session=session, sink=sink)
            # What start-up built (config, routes, the price map's many dicts) lives as long as the process:
            # freezing it keeps the cyclic collector from walking it again and again under load.
            gc.collect()
            gc.freeze()
            yield

    app = FastAPI(
        title="LLMOps gateway",
        version=__version__,
        lifespan=lifespan,
        routes=list(ROUTES),
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.include_router(admin_router())
    app.add_exception_handler(GatewayError, handle_gateway_error)
    app.add_exception_handler(HTTPException, handle_not_found)
    app.add_middleware(RequestIdMiddleware)
    return app
