"""A pure ASGI middleware that gives every request an id and puts it on every response, and answers a bug with
a 500 in the gateway's shape while keeping the connection open.

Pure ASGI rather than ``BaseHTTPMiddleware``: that one costs a task and a memory stream per request.

Why it catches exceptions: Starlette's outermost ``ServerErrorMiddleware`` renders a 500 and then re-raises the
exception, and uvicorn, seeing an exception after a response started, closes the connection: every 500 reset
the client's keep-alive connection. A bug caught here is answered and goes no further. Only a response that
was cut midway still propagates, since closing the connection is then the only way to tell the client.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]

REQUEST_ID_HEADER = b"x-gateway-request-id"
SCOPE_KEY = "gateway.request_id"


def new_request_id() -> str:
    # Unique, not secret: Python's PRNG avoids a system call (urandom) per request, which lets other threads
    # take the GIL while the event loop waits to get it back.
    return f"req_{random.getrandbits(96):024x}"


class RequestIdMiddleware:
    """``on_error`` renders (and logs) an unexpected exception; without one, exceptions propagate as before."""

    def __init__(self, app: ASGIApp, on_error: ErrorHandler | None = None) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope[SCOPE_KEY] = request_id
        header = (REQUEST_ID_HEADER, request_id.encode())
        started = complete = False

        async def send_with_id(message: Message) -> None:
            nonlocal started, complete
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            elif not message.get("more_body", False):
                complete = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if self.on_error is None or (started and not complete):
                raise
            if not complete:  # else an inner app's handler (the admin app's) has answered and logged it
                response = await self.on_error(Request(scope, receive), exc)
                await response(scope, receive, send)
