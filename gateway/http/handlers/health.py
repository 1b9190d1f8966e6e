"""Liveness, readiness, and the state of the dependencies.

Contract:

* ``/health``: the process answers (liveness).
* ``/health/ready``: the gateway can serve: the app has started and its pipeline is up. It answers 200 even while
  the database or Redis is down, because requests are still served then (records go to the spill file, limits
  count locally): a load balancer or ``docker compose`` health check must not take every replica out of rotation
  during an outage. The body reports each dependency (``"database": "ok"`` or ``"down: ..."``), lists the
  degraded ones, and the request log's state.
* ``/health/dependencies``: the same body, with 503 when a dependency is down: for monitoring and alerts, never
  for routing traffic.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.http.responses import json_bytes
from gateway.http.services import ReadinessCheck, Services, services

READY_TIMEOUT = 2.0


async def health(request: Request) -> Response:
    return json_bytes(b'{"status":"ok"}')


async def ready(request: Request) -> Response:
    """200 whenever the gateway is serving; the body says what is degraded."""
    body = await _report(services(request))
    return json_bytes(orjson.dumps(body))


async def dependencies(request: Request) -> Response:
    """The dependency report; 503 names the dependencies that are down."""
    body = await _report(services(request))
    return json_bytes(orjson.dumps(body), status=503 if body["degraded"] else 200)


async def _report(state: Services) -> dict[str, Any]:
    names = list(state.readiness)
    results = await asyncio.gather(*(_check(state.readiness[name]) for name in names))
    checks = dict(zip(names, results, strict=True))
    degraded = [name for name, result in checks.items() if result != "ok"]
    body: dict[str, Any] = {"status": "degraded" if degraded else "ready", "checks": checks, "degraded": degraded}
    log_state = getattr(state.pipeline.sink, "state", None)
    if callable(log_state):
        body["request_log"] = log_state()
    return body


async def _check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), READY_TIMEOUT)
    except Exception as exc:  # any failure is a finding to report, not an error of this endpoint
        return f"down: {type(exc).__name__}"
    return "ok"
