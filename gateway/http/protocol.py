"""uvicorn's httptools protocol with the guards a public server needs: read timeouts, size limits, a connection cap,
and a shutdown that ends open streams with an error event instead of cutting them.

uvicorn has a keep-alive timeout but no limit on how long a request's headers or body may take to arrive, so a
slowloris client (a byte every few seconds) holds a connection for ever. Here one timer per connection runs only
while a request is partly read: from its first byte to its last header (``header_timeout_seconds``), then to the
last byte of its body (``body_timeout_seconds``). A request that arrives in one packet, the usual case, arms no
timer at all. When one fires, the client gets an OpenAI-shaped 408 (if no answer has started) and the connection
is closed.

A request target over ``max_url_bytes`` gets 414, headers over ``max_header_bytes`` 431, a request httptools
cannot parse 400, and a connection past ``max_connections`` 503: all OpenAI-shaped JSON, never uvicorn's plain
text.

At shutdown uvicorn calls ``shutdown()`` on every connection. A connection with a request in progress then waits
``shutdown_grace_seconds`` and asks the request to end (see ``gateway.http.drain``): a stream gets a final
error event (code ``server_shutting_down``) and a clean end, and is recorded like a request the client left.
uvicorn's own deadline (``timeout_graceful_shutdown``) is set a few seconds later, for those final events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.errors import GatewayError, HeadersTooLarge, RequestError, RequestTimeout, ServerBusy, URLTooLong
from gateway.http.drain import DRAIN_SCOPE_KEY, ShutdownDrain

#: How long after the grace period the server waits for the final error events before it cancels what is left.
DRAIN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ConnectionGuard:
    """The limits of one worker process's HTTP server (``gateway:`` section of the config)."""

    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_connections: int = 2048
    max_url_bytes: int = 16 * 1024
    max_header_bytes: int = 64 * 1024
    shutdown_grace: float = 30.0


class GuardedConfig(uvicorn.Config):
    """uvicorn's config plus the guard; pickled as it is to ``--workers`` processes."""

    def __init__(self, app: Any, guard: ConnectionGuard, **options: Any) -> None:
        super().__init__(app, http=GuardedProtocol, **options)
        self.guard = guard

    def load(self) -> None:
        """Load the app as uvicorn does, then put ``ShutdownDrain`` around all of it (in each worker)."""
        super().load()
        self.loaded_app = ShutdownDrain(self.loaded_app)


def guarded_options(guard: ConnectionGuard) -> dict[str, Any]:
    """uvicorn options that follow from the guard."""
    return {"timeout_graceful_shutdown": int(guard.shutdown_grace + DRAIN_SECONDS + 0.999)}


class GuardedProtocol(HttpToolsProtocol):
    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.guard: ConnectionGuard = getattr(config, "guard", ConnectionGuard())
        self._phase: str | None = "headers"  # "headers", "body" or None (nothing partly read)
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_phase: str | None = None
        self._header_bytes = 0
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.guard.max_connections:
            self._refuse(ServerBusy("The gateway has too many open connections; retry shortly."))
            return
        self._rearm()  # a connection that never sends a byte is closed after the header timeout too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        if not self._refused:
            self._rearm()

    # --- parser callbacks: which part of a request is being read ------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "headers"
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.guard.max_url_bytes:
            self._refuse(URLTooLong(f"The request URL is longer than {self.guard.max_url_bytes} bytes."))
            raise _Refused()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > self.guard.max_header_bytes:
            self._refuse(HeadersTooLarge(f"The request headers exceed {self.guard.max_header_bytes} bytes."))
            raise _Refused()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._phase = "body"

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = None

    def send_400_response(self, msg: str) -> None:
        """httptools could not parse the request (or a guard above refused it and already answered)."""
        if not self._refused:
            self._refuse(RequestError("The request is not valid HTTP/1.1."))

    # --- shutdown ---------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        super().shutdown()
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return
        drain: Callable[[], None] | None = cycle.scope.get(DRAIN_SCOPE_KEY)  # type: ignore[assignment]
        if drain is not None:
            self.loop.call_later(self.guard.shutdown_grace, drain)

    # --- read deadline ----------------------------------------------------------------------------------

    def _rearm(self) -> None:
        phase = self._phase
        if phase is None:
            self._cancel_deadline()
        elif self._deadline is None or self._deadline_phase != phase:
            self._cancel_deadline()
            delay = self.guard.header_timeout if phase == "headers" else self.guard.body_timeout
            self._deadline = self.loop.call_later(delay, self._read_timed_out)
            self._deadline_phase = phase

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
            self._deadline_phase = None

    def _read_timed_out(self) -> None:
        self._deadline = None
        what = "headers" if self._phase == "headers" else "body"
        limit = self.guard.header_timeout if what == "headers" else self.guard.body_timeout
        self._refuse(RequestTimeout(f"The request {what} did not arrive within {limit:g} seconds."))

    def _refuse(self, error: GatewayError) -> None:
        """Answer ``error`` (unless an answer has started) and close the connection."""
        self._refused = True
        self._cancel_deadline()
        # While headers are read, self.cycle is still the previous request's (answered in full); only a request
        # whose body is being read can have an answer of its own under way.
        cycle = self.cycle if self._phase == "body" else None
        answered = cycle is not None and cycle.response_started
        if cycle is not None:
            cycle.disconnected = True  # the app's late messages go nowhere; its receive() says "disconnect"
            cycle.message_event.set()
        if not answered and not self.transport.is_closing():
            self.transport.write(error_response_bytes(error))
        self.transport.close()


class _Refused(Exception):
    """Stops the parser after a guard answered; httptools reports it as a parse error, which is ignored."""


def error_response_bytes(error: GatewayError) -> bytes:
    """A complete HTTP/1.1 response carrying ``error`` in OpenAI's shape, closing the connection."""
    body = orjson.dumps(error.to_dict())
    head = (
        f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body
