"""The admin API under ``/admin``: keys, teams, costs, prompts. Every route needs the master key.

The app itself (``admin.app``) is FastAPI, built on the first admin request: importing FastAPI and the admin
modules takes about a quarter of a second, which the gateway's start-up (and the proxy path) never needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


class LazyAdmin:
    def __init__(self, exception_handlers: Mapping[Any, Callable[..., Any]]) -> None:
        self._exception_handlers = exception_handlers
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            from gateway.http.admin.app import admin_app  # noqa: PLC0415 - FastAPI, on first /admin call

            self._app = admin_app(self._exception_handlers)
        await self._app(scope, receive, send)
