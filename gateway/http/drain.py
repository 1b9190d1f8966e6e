"""End the requests still open when the shutdown grace period is over, with an answer rather than a cut.

``ShutdownDrain`` wraps the whole app (uvicorn's config puts it outermost, see ``gateway.http.protocol``). It puts
a ``drain`` callable in each HTTP request's scope; the protocol calls it when the grace period ends. The request
then sees its client "disconnect" (its pending ``receive()`` returns ``http.disconnect``), so it stops the way a
request whose client left stops: the upstream call or stream is closed and the request is recorded. The
middleware then ends the response itself:

- a stream that has started gets a last event, OpenAI's ``data: {"error": {..., "code": "server_shutting_down"}}``
  then ``data: [DONE]`` (Anthropic's ``event: error`` on ``/v1/messages``), and a clean end of the body;
- a request with no answer yet gets a 503 with the same error;
- anything the app sends after that is dropped.

The cost per request is one small object and a task lookup per ``receive()``.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.anthropic_compat import error_to_anthropic
from gateway.errors import ServerShuttingDown

logger = logging.getLogger("gateway.http")
DRAIN_SCOPE_KEY = "gateway.drain"
DISCONNECT: Message = {"type": "http.disconnect"}
ANTHROPIC_PATHS = ("/v1/messages",)


def shutdown_error() -> ServerShuttingDown:
    return ServerShuttingDown("The gateway is shutting down; the request was ended. Retry it.")


class ShutdownDrain:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(receive, send, scope.get("path", "") in ANTHROPIC_PATHS)
        scope[DRAIN_SCOPE_KEY] = exchange.drain
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            if not exchange.drained:
                raise
            # The app failed on the "disconnect" it was handed (e.g. mid-body): expected, and answered below.
            logger.debug("request ended by shutdown raised", exc_info=True)
        if exchange.drained:
            await exchange.finished()


class _Exchange:
    """One request's messages, watched so that ``drain()`` can end it."""

    __slots__ = ("_finishing", "_receive", "_send", "anthropic", "drained", "ended", "started", "streaming", "waiting")

    def __init__(self, receive: Receive, send: Send, anthropic: bool) -> None:
        self._receive = receive
        self._send = send
        self.anthropic = anthropic
        self.started = self.streaming = self.ended = self.drained = False
        self.waiting: asyncio.Task[object] | None = None
        self._finishing: asyncio.Task[None] | None = None

    def drain(self) -> None:
        """Called by the protocol (in the event loop) when the grace period is over.

        The client gets its last event at once, before the request's own clean-up (closing the upstream, costing,
        recording), which may take a while and must not make uvicorn cut the stream after all.
        """
        if self.ended or self.drained:
            return
        self.drained = True
        self._finishing = asyncio.get_running_loop().create_task(self.finish())
        if self.waiting is not None:
            self.waiting.cancel()

    async def finished(self) -> None:
        await (self._finishing if self._finishing is not None else self.finish())

    async def receive(self) -> Message:
        if self.drained:
            return DISCONNECT
        task = asyncio.current_task()
        self.waiting = task
        try:
            return await self._receive()
        except asyncio.CancelledError:
            if self.drained and task is not None and task.uncancel() == 0:
                return DISCONNECT  # cancelled by drain() alone: the request sees its client leave
            raise
        finally:
            self.waiting = None

    async def send(self, message: Message) -> None:
        if self.drained:
            return
        if message["type"] == "http.response.start":
            self.started = True
            self.streaming = _is_event_stream(message)
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.ended = True
        await self._send(message)

    async def finish(self) -> None:
        """End the response the app was cut from: a last error event, or a 503."""
        if self.ended:
            return
        self.ended = True
        error = shutdown_error()
        if not self.started:
            body = error_to_anthropic(error.status, error.to_dict()) if self.anthropic else error.to_dict()
            headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
            await self._send({"type": "http.response.start", "status": error.status, "headers": headers})
            await self._send({"type": "http.response.body", "body": orjson.dumps(body)})
            return
        last = self._last_event(error) if self.streaming else b""
        await self._send({"type": "http.response.body", "body": last, "more_body": False})

    def _last_event(self, error: ServerShuttingDown) -> bytes:
        if self.anthropic:
            payload = orjson.dumps(error_to_anthropic(error.status, error.to_dict()))
            return b"event: error\ndata: " + payload + b"\n\n"
        return b"data: " + orjson.dumps(error.to_dict()) + b"\n\ndata: [DONE]\n\n"


def _is_event_stream(message: Message) -> bool:
    for name, value in message.get("headers", ()):
        if name.lower() == b"content-type":
            return bool(value.startswith(b"text/event-stream"))
    return False
