"""Liveness and readiness."""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.http.responses import json_bytes
from gateway.http.services import services

READY_TIMEOUT = 2.0


async def health(request: Request) -> Response:
    return json_bytes(b'{"status":"ok"}')


async def ready(request: Request) -> Response:
    """Checks each configured dependency (database, Redis); 503 names the ones that failed."""
    checks = services(request).readiness
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT)
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    healthy = all(v == "ok" for v in results.values())
    body = {"status": "ready" if healthy else "unavailable", "checks": results}
    return json_bytes(orjson.dumps(body), status=200 if healthy else 503)
