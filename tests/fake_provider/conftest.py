"""Fixtures: a real fake provider on a free loopback port, and official SDK clients aimed at it.

Each test gets its own server (start-up is a few milliseconds), so fault and stats
state never leaks between tests. Clients never retry, so every request is visible.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest

from gateway.fake_provider import FakeOptions, RunningFake, start_fake

from support import contracts

StartFake = Callable[..., Awaitable[RunningFake]]
TEST_KEY = "sk-fake-test"


@pytest.fixture
async def start() -> AsyncIterator[StartFake]:
    """Start extra fakes with custom options; all are closed at teardown."""
    running: list[RunningFake] = []

    async def launch(**overrides: Any) -> RunningFake:
        fake = await start_fake(FakeOptions(host="127.0.0.1", port=0, **overrides))
        running.append(fake)
        return fake

    yield launch
    for fake in running:
        await fake.close()


@pytest.fixture
async def provider(start: StartFake) -> RunningFake:
    """A fake with default options. Not named ``fake``: tests/conftest.py's ``fake`` is a subprocess."""
    return await start()


@pytest.fixture
async def oai(provider: RunningFake) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=f"{provider.base_url}/v1", api_key=TEST_KEY, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def anth(provider: RunningFake) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(base_url=provider.base_url, api_key=TEST_KEY, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def http(provider: RunningFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=provider.base_url, timeout=5.0) as client:
        yield client


@pytest.fixture
def spec() -> Any:
    """The shared OpenAPI contract checks (``validate``, ``validate_sse_chat_stream``, ...)."""
    return contracts

