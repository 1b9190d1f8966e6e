"""Serve the app inside the caller's event loop, through ``httpx.ASGITransport``.

ASGI servers run the lifespan and hand its state to every request; ``httpx.ASGITransport`` does neither, so
this does both. Used by the eval runner's in-process mode and by tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send


@asynccontextmanager
async def in_process_client(
    app: Starlette, *, base_url: str = "http://gateway.local", **client_options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        # Starlette re-raises a handled 500 for the server to log; the client must still get the response.
        transport = httpx.ASGITransport(app=with_state, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, **client_options) as client:
            yield client
