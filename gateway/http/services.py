"""What the handlers need, built once in the app's lifespan and handed to every request as lifespan state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from starlette.requests import Request

from gateway.auth import Authenticator
from gateway.bus import InvalidationBus
from gateway.config.models import GatewayConfig
from gateway.db import Database
from gateway.errors import RequestError
from gateway.http import bounds
from gateway.http.body import read_json
from gateway.http.middleware import SCOPE_KEY, new_request_id
from gateway.pipeline.context import RequestContext
from gateway.pipeline.service import Pipeline
from gateway.providers.base import Endpoint

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")
ReadinessCheck = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class Services:
    config: GatewayConfig
    pipeline: Pipeline
    auth: Authenticator
    started_at: int
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    database: Database | None = None
    redis: Redis | None = None
    bus: InvalidationBus | None = None

    async def context(self, request: Request, endpoint: Endpoint, body: dict[str, Any] | None = None) -> RequestContext:
        """Authenticate, read the body, and start the request's context."""
        principal = self.auth.authenticate(request.headers)
        if body is None:
            body = await read_json(request, self.config.gateway.max_body_bytes)
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
        )


def services(request: Request) -> Services:
    return cast(Services, request.scope["state"]["services"])
