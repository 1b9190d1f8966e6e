"""``GET /metrics``: Prometheus metrics, for the master key or the scrape token (``gateway.telemetry.metrics_token``).

A virtual key may not read them: they show every team's traffic and spend. On a gateway with no master key (local
use) they are open, as everything else is. The list of metrics: docs/telemetry.md.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from gateway.auth import presented_key
from gateway.errors import AuthenticationError, NotFound, PermissionDenied
from gateway.http.services import Services, services
from gateway.telemetry.metrics import CONTENT_TYPE


async def metrics(request: Request) -> Response:
    svc = services(request)
    telemetry = svc.telemetry
    if telemetry is None or telemetry.metrics is None:
        raise NotFound("Metrics are off on this gateway (gateway.telemetry.metrics: false).")
    _authorise(svc, request)
    return Response(telemetry.metrics.exposition(), media_type=CONTENT_TYPE)


def _authorise(svc: Services, request: Request) -> None:
    token = svc.config.gateway.telemetry.metrics_token
    key = presented_key(request.headers)
    if token is not None and key is not None and hmac.compare_digest(key.encode(), token.get_secret_value().encode()):
        return
    principal = svc.auth.authenticate(request.headers)  # raises 401 for a missing or wrong key
    if principal.key_id == "master" or (svc.auth.open and principal.key_id is None):
        return
    if principal.key_id is None:
        raise AuthenticationError("Metrics need the master key or the scrape token.")
    raise PermissionDenied("Metrics need the master key or the scrape token, not a virtual key.")
