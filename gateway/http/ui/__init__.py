"""The web dashboard under ``/ui`` (docs/dashboard.md): server-rendered pages (Jinja2, a little plain JavaScript,
uPlot vendored for charts), behind a login with the master key.

The app (``ui.app``) is built on the first ``/ui`` request: Jinja2 and the page modules cost the gateway's start-up
and its proxy path nothing.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class LazyUI:
    def __init__(self) -> None:
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            from gateway.http.ui.app import ui_app  # noqa: PLC0415 - Jinja2 and the pages, on the first /ui call

            self._app = ui_app()
        await self._app(scope, receive, send)
