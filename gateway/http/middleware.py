"""A pure ASGI middleware that gives every request an id and puts it on every response.

Pure ASGI rather than ``BaseHTTPMiddleware``: that one costs a task and a memory stream per request.
"""

from __future__ import annotations

import random

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-gateway-request-id"
SCOPE_KEY = "gateway.request_id"


def new_request_id() -> str:
    # Unique, not secret: Python's PRNG avoids a system call (urandom) per request, which lets other threads
    # take the GIL while the event loop waits to get it back.
    return f"req_{random.getrandbits(96):024x}"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope[SCOPE_KEY] = request_id
        header = (REQUEST_ID_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
