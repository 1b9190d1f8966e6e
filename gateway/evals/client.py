"""Talking to the gateway: a running one by URL, or one started in this process from a config file.

Every call carries ``x-gateway-tags: eval,suite:<name>`` so it is costed and logged like other traffic.
Transient failures (429, 5xx, connection errors, timeouts) are retried a few times with exponential backoff
(and the server's ``Retry-After`` when it sends one); what still fails comes back as a ``Reply`` with ``error``.

In process, the app's lifespan is run here (``httpx.ASGITransport`` does not run it), so the database, the
prompt cache and the upstream session start and stop exactly as in ``gateway serve``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from gateway.config import load_config

TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})
_KEEP_HEADERS = ("x-gateway-prompt-version", "x-gateway-cost-usd", "x-gateway-request-id")
_MAX_RETRY_AFTER = 10.0


@dataclass(slots=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    latency_ms: float = 0.0
    attempts: int = 1
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def cost_usd(self) -> float | None:
        raw = self.headers.get("x-gateway-cost-usd")
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None


@dataclass(slots=True)
class Target:
    """Where the calls go, and what identifies it in cache keys."""

    client: GatewayClient
    identity: str
    database_url: str | None = None


class GatewayClient:
    def __init__(
        self, http: httpx.AsyncClient, tags: str, *, retries: int = 3, backoff: float = 0.25
    ) -> None:
        self.http = http
        self.tags = tags
        self.retries = retries
        self.backoff = backoff

    async def post(self, path: str, body: dict[str, Any], tags: str | None = None) -> Reply:
        headers = {"x-gateway-tags": tags or self.tags}
        content = orjson.dumps(body)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = await self.http.post(path, content=content, headers=headers)
            except httpx.HTTPError as exc:
                reply = Reply(0, error=f"{type(exc).__name__}: {exc or 'no detail'}")
                retry_after = None
            else:
                reply = _reply(response, (time.perf_counter() - started) * 1000)
                retry_after = _retry_after(response)
            reply.attempts = attempt
            if reply.ok or (reply.status and reply.status not in TRANSIENT) or attempt > self.retries:
                return reply
            delay = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
            await asyncio.sleep(min(delay, _MAX_RETRY_AFTER))


def _reply(response: httpx.Response, latency_ms: float) -> Reply:
    headers = {name: response.headers[name] for name in _KEEP_HEADERS if name in response.headers}
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    reply = Reply(response.status_code, body, headers, latency_ms)
    if response.status_code >= 400 or not isinstance(body, dict):
        reply.error = f"HTTP {response.status_code}: {_error_message(body, response.text)}"
    return reply


def _error_message(body: Any, text: str) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"])
    return text[:300] or "(empty body)"


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


@asynccontextmanager
async def remote_gateway(
    url: str, api_key: str | None, tags: str, *, retries: int, call_timeout: float, concurrency: int
) -> AsyncIterator[Target]:
    base = url.rstrip("/")
    base = base[: -len("/v1")] if base.endswith("/v1") else base
    # The runner never has more than `concurrency` calls in flight; a bigger pool only costs httpcore CPU time.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=call_timeout, limits=limits) as http:
        yield Target(GatewayClient(http, tags, retries=retries), identity=base)


@asynccontextmanager
async def local_gateway(
    config_path: Path, api_key: str | None, tags: str, *, retries: int, call_timeout: float
) -> AsyncIterator[Target]:
    """The gateway app from ``config_path``, started in this process (lifespan included)."""
    from gateway.http.app import create_app  # noqa: PLC0415 - the app stack, only in process
    from gateway.http.in_process import in_process_client  # noqa: PLC0415 - starlette, only in process

    config = await asyncio.to_thread(load_config, config_path)
    raw = await asyncio.to_thread(config_path.read_bytes)
    identity = "config:" + hashlib.sha256(raw).hexdigest()[:16]
    master = config.general_settings.master_key
    key = api_key or (master.get_secret_value() if master else None)
    database_url = config.general_settings.database_url
    headers = {"authorization": f"Bearer {key}"} if key else {}
    async with in_process_client(create_app(config), headers=headers, timeout=call_timeout) as http:
        yield Target(
            GatewayClient(http, tags, retries=retries),
            identity=identity,
            database_url=database_url.get_secret_value() if database_url else None,
        )
