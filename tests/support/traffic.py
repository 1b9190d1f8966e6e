"""A bounded traffic driver for tests against a running gateway: a fixed number of requests, a fixed concurrency,
an optional pace, and a hard time limit. Only ever aimed at 127.0.0.1.

Every outcome is kept (status, request id, error body, transport error, seconds taken), so a test can assert on
what each client saw and then count the rows the gateway logged for exactly those request ids.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ONE_WORD = [{"role": "user", "content": "hello"}]


@dataclass
class Outcome:
    """What one client request ended with. ``status`` is 0 when no HTTP response arrived (``failure`` says why)."""

    status: int
    request_id: str | None = None
    body: Any = None
    failure: str | None = None
    seconds: float = 0.0
    events: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.failure is None


@dataclass
class Run:
    outcomes: list[Outcome]
    seconds: float

    @property
    def ok(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.ok]

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]

    def success_rate(self) -> float:
        return len(self.ok) / max(1, len(self.outcomes))

    def ids(self) -> set[str]:
        return {outcome.request_id for outcome in self.ok if outcome.request_id}

    def summary(self) -> str:
        kinds = Counter(f"{o.status} {o.failure or ''}".strip() for o in self.failed)
        first = next((o for o in self.failed), None)
        sample = "" if first is None else f"; first: {str(first.body or first.failure)[:300]}"
        return f"{len(self.ok)}/{len(self.outcomes)} ok in {self.seconds:.1f}s; failures {dict(kinds)}{sample}"


def chat(model: str, **extra: Any) -> Callable[[int], dict[str, Any]]:
    """A body factory: request ``index`` gets its own message text (so rows are distinguishable)."""

    def body(index: int) -> dict[str, Any]:
        return {"model": model, "messages": [{"role": "user", "content": f"hello {index}"}], "max_tokens": 4,
                **extra}

    return body


async def one(
    client: httpx.AsyncClient, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Outcome:
    """One request; a stream is read to the end and its ``data:`` events kept."""
    started = time.monotonic()
    try:
        if body.get("stream"):
            return await _stream(client, path, body, headers, started)
        response = await client.post(path, json=dict(body), headers=dict(headers or {}))
        return Outcome(response.status_code, response.headers.get("x-gateway-request-id"), _json(response.content),
                       seconds=time.monotonic() - started)
    except httpx.HTTPError as exc:
        return Outcome(0, failure=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)


async def _stream(
    client: httpx.AsyncClient, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None, started: float
) -> Outcome:
    async with client.stream("POST", path, json=dict(body), headers=dict(headers or {})) as response:
        events = [line[5:].strip() async for line in response.aiter_lines() if line.startswith("data:")]
        outcome = Outcome(response.status_code, response.headers.get("x-gateway-request-id"), events=events,
                          seconds=time.monotonic() - started)
    if outcome.status == 200 and (not events or events[-1] != "[DONE]"):
        outcome.failure = "stream ended without [DONE]" + (" (error event)" if _has_error(events) else "")
    return outcome


def _has_error(events: list[str]) -> bool:
    return any('"error"' in event for event in events)


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content[:500].decode(errors="replace")


async def drive(
    base_url: str,
    key: str,
    bodies: Callable[[int], Mapping[str, Any]],
    *,
    count: int,
    concurrency: int = 10,
    rate: float | None = None,
    path: str = "/v1/chat/completions",
    time_limit: float = 60.0,
    before: Callable[[int], Any] | None = None,
    request_timeout: float = 30.0,
) -> Run:
    """Send ``count`` requests, at most ``concurrency`` at once and (with ``rate``) at most ``rate`` per second.

    ``before(index)`` runs before request ``index`` is sent (to inject a fault, say). Requests not started when
    ``time_limit`` runs out are not sent; requests still running then are cancelled and reported as failures.
    """
    assert base_url.startswith("http://127.0.0.1"), "the driver only talks to this machine"
    started = time.monotonic()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=request_timeout, limits=limits) as client:

        async def send(index: int) -> Outcome:
            async with gate:
                if before is not None:
                    await asyncio.to_thread(before, index)
                return await one(client, path, bodies(index))

        async def paced() -> list[asyncio.Task[Outcome]]:
            tasks = []
            for index in range(count):
                if rate is not None:
                    await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
                if time.monotonic() - started > time_limit:
                    break
                tasks.append(asyncio.create_task(send(index)))
                await asyncio.sleep(0)
            return tasks

        tasks = await paced()
        remaining = max(0.1, time_limit - (time.monotonic() - started))
        done, pending = await asyncio.wait(tasks, timeout=remaining) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        outcomes = [task.result() if task in done else Outcome(0, failure="still running at the time limit")
                    for task in tasks]
    return Run(outcomes, time.monotonic() - started)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
