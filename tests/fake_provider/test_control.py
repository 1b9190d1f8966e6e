"""Stats, auth, options (latency, chunk delay) and running the fake as a process."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from gateway.fake_provider import RunningFake

StartFake = Callable[..., Awaitable[RunningFake]]
TEST_KEY = "sk-fake-test"
ASK: Any = [{"role": "user", "content": "count me"}]
REPO = Path(__file__).resolve().parents[2]


async def test_stats_count_requests_and_keep_the_last_one(
    oai: openai.AsyncOpenAI, anth: anthropic.AsyncAnthropic, http: httpx.AsyncClient
) -> None:
    for _ in range(2):
        await oai.chat.completions.create(model="a", messages=ASK)
    with pytest.raises(openai.InternalServerError):
        await oai.chat.completions.create(model="fail-503", messages=ASK)
    await oai.embeddings.create(model="e", input="x")
    await anth.messages.create(
        model="c", max_tokens=9, messages=ASK, extra_headers={"X-Trace-Id": "trace-123"}
    )

    stats = (await http.get("/_fake/stats")).json()
    assert stats["requests"] == {
        "/v1/chat/completions a": 2,
        "/v1/chat/completions fail-503": 1,
        "/v1/embeddings e": 1,
        "/v1/messages c": 1,
    }
    assert stats["total"] == 5
    assert stats["last_request"] == {"max_tokens": 9, "messages": ASK, "model": "c"}
    headers = stats["last_headers"]
    assert headers["x-trace-id"] == "trace-123"
    assert "anthropic-version" in headers
    assert "authorization" not in headers and "x-api-key" not in headers

    assert (await http.delete("/_fake/stats")).status_code == 200
    assert (await http.get("/_fake/stats")).json() == {
        "requests": {},
        "total": 0,
        "last_request": None,
        "last_headers": {},
    }


async def test_reset_clears_faults_and_stats(provider: RunningFake, http: httpx.AsyncClient) -> None:
    await http.post("/_fake/faults", json={"kind": "status"})
    await http.post("/v1/chat/completions", json={"model": "x", "messages": ASK})
    provider.reset()
    assert (await http.get("/_fake/faults")).json() == {"faults": []}
    assert (await http.get("/_fake/stats")).json()["total"] == 0


async def test_health(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert (await http.get("/chat/completions")).status_code == 404  # only the /v1 paths exist


async def test_require_key_rejects_wrong_keys_in_each_api_shape(start: StartFake) -> None:
    locked = await start(require_key=TEST_KEY)
    v1 = f"{locked.base_url}/v1"
    async with (
        openai.AsyncOpenAI(base_url=v1, api_key="wrong", max_retries=0) as bad_openai,
        openai.AsyncOpenAI(base_url=v1, api_key=TEST_KEY, max_retries=0) as good_openai,
        anthropic.AsyncAnthropic(base_url=locked.base_url, api_key="wrong", max_retries=0) as bad_claude,
        anthropic.AsyncAnthropic(base_url=locked.base_url, api_key=TEST_KEY, max_retries=0) as good_claude,
    ):
        with pytest.raises(openai.AuthenticationError) as openai_error:
            await bad_openai.chat.completions.create(model="m", messages=ASK)
        assert openai_error.value.response.json()["error"]["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            await bad_openai.models.list()
        with pytest.raises(anthropic.AuthenticationError) as claude_error:
            await bad_claude.messages.create(model="m", max_tokens=5, messages=ASK)
        assert claude_error.value.response.json()["error"]["type"] == "authentication_error"

        await good_openai.chat.completions.create(model="m", messages=ASK)  # Authorization: Bearer
        await good_claude.messages.create(model="m", max_tokens=5, messages=ASK)  # x-api-key

    async with httpx.AsyncClient(base_url=locked.base_url) as raw:
        missing = await raw.post("/v1/chat/completions", json={"model": "m", "messages": ASK})
        assert missing.status_code == 401
        assert (await raw.get("/health")).status_code == 200  # the control plane stays open
        assert (await raw.get("/_fake/stats")).json()["total"] == 5  # rejected ones count too


async def test_latency_option_delays_every_reply(start: StartFake) -> None:
    slow = await start(latency_ms=100)
    async with httpx.AsyncClient(base_url=slow.base_url) as raw:
        started = time.monotonic()
        await raw.post("/v1/chat/completions", json={"model": "m", "messages": ASK})
        await raw.get("/v1/models")
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        await raw.get("/health")
        assert time.monotonic() - started < 0.1


async def test_chunk_delay_spaces_out_stream_chunks(start: StartFake) -> None:
    paced = await start(chunk_delay_ms=40)
    body = {"model": "m", "messages": [{"role": "user", "content": "a b c"}], "stream": True}
    arrivals: list[float] = []
    async with (
        httpx.AsyncClient(base_url=paced.base_url) as raw,
        raw.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        async for _ in response.aiter_bytes():
            arrivals.append(time.monotonic())
    # role, 4 words, finish, [DONE]: 7 frames, 6 gaps of 40 ms
    assert arrivals[-1] - arrivals[0] >= 6 * 0.04 * 0.9
    assert len(arrivals) >= 4  # frames arrive separately, not as one write


async def test_serve_prints_its_address_and_stops_on_sigint() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.fake_provider", "--host", "127.0.0.1", "--port", "0",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        prefix = "fake provider listening on http://127.0.0.1:"
        assert line.startswith(prefix), line
        port = int(line.removeprefix(prefix))
        async with httpx.AsyncClient() as raw:
            health = await raw.get(f"http://127.0.0.1:{port}/health")
        assert health.json() == {"status": "ok"}
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        returncode = await asyncio.wait_for(process.wait(), timeout=10)
    assert returncode == 0
