"""Responses: OpenAI-shaped errors, JSON bytes passed through, and SSE streams."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from http import HTTPStatus

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from gateway.errors import (
    AuthenticationError,
    BodyTooLarge,
    GatewayError,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestError,
)
from gateway.http.disconnect import ClientDisconnected, until_disconnect
from gateway.http.middleware import SCOPE_KEY
from gateway.pipeline.context import RequestContext

logger = logging.getLogger("gateway.http")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
#: The gateway error whose ``type`` and ``code`` a framework's ``HTTPException`` of that status is shown with.
_HTTP_ERRORS: dict[int, type[GatewayError]] = {
    400: RequestError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    413: BodyTooLarge,
    429: RateLimited,
}


def json_bytes(body: bytes, ctx: RequestContext | None = None, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=_gateway_headers(ctx))


def error_response(error: GatewayError, ctx: RequestContext | None = None, *, status: int | None = None) -> Response:
    """``status``: only to keep a framework error's own status where no gateway error class has it."""
    headers = {**error.headers, **_gateway_headers(ctx)}
    return Response(
        orjson.dumps(error.to_dict()),
        status_code=status or error.status,
        media_type="application/json",
        headers=headers,
    )


class SSEResponse(StreamingResponse):
    """Relays an event stream as it comes, and always closes its source, even when the client left early.

    A client that disconnects cancels the relay (and so the upstream stream) through one watcher task, in place
    of the task group that ``StreamingResponse.__call__`` starts for every stream.
    """

    def __init__(
        self, events: AsyncIterator[bytes], closer: Callable[[], Awaitable[None]], ctx: RequestContext
    ) -> None:
        super().__init__(events, media_type="text/event-stream", headers={**SSE_HEADERS, **_gateway_headers(ctx)})
        self._events = events
        self._closer = closer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await until_disconnect(receive, self._relay(send))
        except ClientDisconnected:
            pass
        finally:
            await self._closer()

    async def _relay(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async for chunk in self._events:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def sse_response(
    events: AsyncIterator[bytes], closer: Callable[[], Awaitable[None]], ctx: RequestContext
) -> SSEResponse:
    return SSEResponse(events, closer, ctx)


def _gateway_headers(ctx: RequestContext | None) -> dict[str, str]:
    if ctx is None:
        return {}
    headers: Mapping[str, str] = {}
    if ctx.deployment is not None:
        headers = {
            "x-gateway-model": ctx.model,
            "x-gateway-deployment": ctx.deployment.id,
            "x-gateway-attempts": str(ctx.attempts),
        }
    if ctx.finished is not None:
        headers = {**headers, "x-gateway-overhead-ms": f"{ctx.overhead_ms:.2f}"}
    if ctx.prompt_name is not None:
        headers = {**headers, "x-gateway-prompt-version": f"{ctx.prompt_name}@{ctx.prompt_version}"}
    if ctx.response_headers:
        headers = {**headers, **ctx.response_headers}
    return dict(headers)


async def handle_gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(exc)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """A bug must still answer in OpenAI's shape (500 api_error), without leaking its details."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response = error_response(GatewayError("The gateway failed unexpectedly; the error is in its log."))
    # This handler runs outside the request-id middleware (Starlette puts it outermost): add the id here.
    request_id = request.scope.get(SCOPE_KEY)
    if request_id:
        response.headers["x-gateway-request-id"] = request_id
    return response


async def handle_not_found(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's ``HTTPException`` (unknown path, wrong method, a body the framework could not
    read, ...) in the gateway's error shape, with the status and headers it carries."""
    assert isinstance(exc, HTTPException)
    status, headers = exc.status_code, dict(exc.headers or {})
    if status == 404:
        return error_response(NotFound(_not_served(request)))
    if status == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
        return error_response(MethodNotAllowed(message, headers=headers))
    error_class = _HTTP_ERRORS.get(status, RequestError if status < 500 else GatewayError)
    return error_response(error_class(_detail(exc), headers=headers), status=status)


def _not_served(request: Request) -> str:
    """Name the path, and list what the app does serve (read from its routes, so the list cannot go stale)."""
    served: list[str] = []
    mounts: list[str] = []
    for route in getattr(request.app, "routes", ()):
        if isinstance(route, Mount):
            mounts.append(route.path)
        elif isinstance(route, Route) and route.path.startswith("/v1/"):
            methods = sorted((route.methods or set()) - {"HEAD"})
            served += [f"{method} {route.path}" for method in methods]
    extra = "".join(f"; and {path}/ (see {path}/docs)" for path in mounts)
    if not served:  # inside the admin API, which documents its own paths
        return f"This gateway does not serve {request.method} {request.url.path}. The admin API is at /admin/docs."
    return (
        f"This gateway does not serve {request.method} {request.url.path}. It serves: {', '.join(served)} "
        f"(also without the /v1 prefix), GET /health{extra}."
    )


def _detail(exc: HTTPException) -> str:
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = ""
    return exc.detail if exc.detail and exc.detail != phrase else f"{exc.status_code} {phrase}".strip()
