"""The request side of ``gateway.services.Services``: find it in a request, and start a request's context."""

from __future__ import annotations

from typing import Any, cast

from starlette.requests import Request

from gateway.errors import RequestError
from gateway.http import bounds
from gateway.http.body import read_json
from gateway.http.middleware import SCOPE_KEY, new_request_id
from gateway.pipeline.context import RequestContext
from gateway.providers.base import Endpoint
from gateway.services import ReadinessCheck, Services
from gateway.telemetry.light import trace_parent_headers

#: A request with this header set to true skips the cache's lookup and stores the fresh answer.
REFRESH_HEADER = "x-gateway-cache-refresh"
__all__ = ["ReadinessCheck", "Services", "request_context", "services"]


async def request_context(
    svc: Services, request: Request, endpoint: Endpoint, body: dict[str, Any] | None = None
) -> RequestContext:
    """Authenticate, read the body, and start the request's context."""
    principal = svc.auth.authenticate(request.headers)
    if body is None:
        body = await read_json(request, svc.config.gateway.max_body_bytes)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("`stream` must be a boolean.", param="stream")
    options = body.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    model = bounds.model_name(body)
    metadata = body.get("metadata")
    tags = bounds.request_tags(request.headers.get("x-gateway-tags"), metadata)
    bounds.check_metadata(metadata)
    bounds.sanitise_user(body)
    return RequestContext(
        request_id=request.scope.get(SCOPE_KEY) or new_request_id(),
        endpoint=endpoint,
        body=body,
        model=model,
        stream=stream,
        principal=principal,
        timeout=bounds.timeout_seconds(request.headers.get("x-gateway-timeout")),
        tags=tags,
        client_wants_usage=wants_usage,
        cache_control=request.headers.get("cache-control"),
        cache_refresh=request.headers.get(REFRESH_HEADER, "").strip().lower() in ("1", "true", "yes"),
        trace_parent=trace_parent_headers(request.headers) if svc.tracing else None,
    )


def services(request: Request) -> Services:
    return cast(Services, request.scope["state"]["services"])
