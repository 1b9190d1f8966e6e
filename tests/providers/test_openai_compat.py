"""The OpenAI-compatible provider against a tiny local aiohttp upstream whose answers each test scripts: bodies
relayed untouched, and every upstream failure translated into the gateway's own error (gateway.errors)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.throwaway import spare_port

from gateway.errors import (
    UpstreamBadRequest,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.providers.base import UpstreamRequest
from gateway.providers.openai_compat import OpenAICompatProvider

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_KEY = "sk-upstream-secret-0123456789"
CHAT = {"model": "up-model", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Upstream:
    """One scripted answer for every POST; what the gateway sent is kept."""

    url: str = ""
    answer: Handler | None = None
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((dict(request.headers), await request.read()))
        assert self.answer is not None
        return await self.answer(request)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    scripted = Upstream()
    app = web.Application()
    app.router.add_post("/v1/{path:.*}", scripted.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    scripted.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    yield scripted
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as shared:
        yield shared


def provider(session: aiohttp.ClientSession, api_base: str) -> OpenAICompatProvider:
    return OpenAICompatProvider(session, api_base=api_base, api_key=API_KEY, label="upstream")


def request(timeout: float = 5.0, **body: Any) -> UpstreamRequest:
    return UpstreamRequest(endpoint="chat", body={**CHAT, **body}, timeout=timeout)


def answer(status: int, body: bytes, **headers: str) -> Handler:
    async def respond(_: web.Request) -> web.Response:
        return web.Response(status=status, body=body, headers={"Content-Type": "application/json", **headers})

    return respond


def sse(*events: bytes, done: bool = True) -> Handler:
    async def respond(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in events:
            await response.write(b"data: " + event + b"\n\n")
        if done:
            await response.write(b"data: [DONE]\n\n")
        return response

    return respond


async def test_a_body_is_relayed_byte_for_byte_with_the_key_and_model(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    body = b'{"id":"c1",  "object":"chat.completion","choices":[]}'  # odd spacing: not re-serialised
    upstream.answer = answer(200, body)
    assert (await provider(session, upstream.url).complete(request())).body == body
    headers, sent = upstream.seen[0]
    assert headers["Authorization"] == f"Bearer {API_KEY}" and b'"model":"up-model"' in sent


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "expected"),
    [
        (429, b'{"error": {"message": "slow down"}}', {"Retry-After": "7"}, UpstreamRateLimited,
         {"status": 429, "retry_after": 7.0}),
        (503, b'{"error": "overloaded"}', {}, UpstreamUnavailable, {"status": 503, "message": "overloaded"}),
        (400, b'{"error": {"message": "bad temperature", "param": "temperature"}}', {}, UpstreamBadRequest,
         {"status": 400, "param": "temperature", "retryable": False}),
        (404, b'{"error": {"message": "no such model"}}', {}, UpstreamBadRequest, {"code": "upstream_not_found"}),
        (401, b'{"error": {"message": "invalid api key"}}', {}, UpstreamError,
         {"status": 502, "code": "upstream_auth_error"}),
        (504, b"gateway timeout", {}, UpstreamTimeout, {"upstream_status": 504}),
        (500, b'Traceback (most recent call last):\n  File "x.py", line 1\nKeyError', {}, UpstreamError,
         {"status": 502}),
    ],
)
async def test_an_error_status_becomes_the_matching_gateway_error(
    upstream: Upstream, session: aiohttp.ClientSession, status: int, body: bytes, headers: dict[str, str],
    error: type[UpstreamError], expected: dict[str, Any],
) -> None:
    upstream.answer = answer(status, body, **headers)
    for call in (provider(session, upstream.url).complete, provider(session, upstream.url).stream):
        with pytest.raises(error) as raised:
            await call(request())
        failure = raised.value
        assert f"upstream answered {status}" in failure.message
        assert "Traceback" not in failure.message and API_KEY not in failure.message
        for name, value in expected.items():
            actual = getattr(failure, name)
            assert (value in actual) if name == "message" else actual == value, (name, actual)


async def test_an_upstream_slower_than_the_timeout_is_an_upstream_timeout(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=b"{}")

    upstream.answer = slow
    with pytest.raises(UpstreamTimeout, match=r"within 0\.2 s") as raised:
        await provider(session, upstream.url).complete(request(timeout=0.2))
    assert raised.value.upstream_status is None  # the gateway gave up, the upstream did not say so


async def test_an_upstream_that_is_not_there_is_a_connection_error(session: aiohttp.ClientSession) -> None:
    gone = provider(session, f"http://127.0.0.1:{spare_port()}/v1")
    for call in (gone.complete, gone.stream):
        with pytest.raises(UpstreamConnectionError, match="upstream: "):
            await call(request())


async def test_a_stream_yields_the_data_payloads_until_done(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    upstream.answer = sse(b'{"n":1}', b'{"n":2}')
    stream = await provider(session, upstream.url).stream(request(stream=True))
    payloads = [payload async for batch in stream for payload in batch]
    await stream.aclose()
    assert payloads == [b'{"n":1}', b'{"n":2}']


async def test_a_stream_cut_before_done_is_an_error_not_a_complete_answer(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    upstream.answer = sse(b'{"n":1}', done=False)
    stream = await provider(session, upstream.url).stream(request(stream=True))
    received: list[bytes] = []
    with pytest.raises(UpstreamConnectionError, match=r"ended before \[DONE\]"):
        async for batch in stream:
            received.extend(batch)
    await stream.aclose()
    assert received == [b'{"n":1}']
