"""Fixtures: a real fake provider on a free loopback port, and official SDK clients aimed at it.

One fake and one set of clients serve the whole session (building an SDK client costs
tens of milliseconds of TLS set-up); ``provider`` forgets every fault and counter before
each test, so no state leaks between tests. Tests that need other options start their
own fake with ``start``. Clients never retry, so every request is visible.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest
from support import contracts

from gateway.fake_provider import FakeOptions, RunningFake, start_fake

StartFake = Callable[..., Awaitable[RunningFake]]
TEST_KEY = "sk-fake-test"


async def _launch(**overrides: Any) -> RunningFake:
    return await start_fake(FakeOptions(host="127.0.0.1", port=0, **overrides))


@pytest.fixture
async def start() -> AsyncIterator[StartFake]:
    """Start extra fakes with custom options; all are closed at teardown."""
    running: list[RunningFake] = []

    async def launch(**overrides: Any) -> RunningFake:
        running.append(await _launch(**overrides))
        return running[-1]

    yield launch
    for fake in running:
        await fake.close()


@pytest.fixture(scope="session")
async def _shared() -> AsyncIterator[RunningFake]:
    async with await _launch() as fake:
        yield fake


@pytest.fixture
def provider(_shared: RunningFake) -> RunningFake:
    """The shared fake, reset. Not named ``fake``: tests/conftest.py's ``fake`` is a subprocess."""
    _shared.reset()
    return _shared


@pytest.fixture(scope="session")
async def _oai(_shared: RunningFake) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=f"{_shared.base_url}/v1", api_key=TEST_KEY, max_retries=0
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def _anth(_shared: RunningFake) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=_shared.base_url, api_key=TEST_KEY, max_retries=0) as client:
        yield client


@pytest.fixture(scope="session")
async def _http(_shared: RunningFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=_shared.base_url, timeout=5.0) as client:
        yield client


@pytest.fixture
def oai(provider: RunningFake, _oai: openai.AsyncOpenAI) -> openai.AsyncOpenAI:
    return _oai


@pytest.fixture
def anth(provider: RunningFake, _anth: anthropic.AsyncAnthropic) -> anthropic.AsyncAnthropic:
    return _anth


@pytest.fixture
def http(provider: RunningFake, _http: httpx.AsyncClient) -> httpx.AsyncClient:
    """Raw HTTP to the shared fake (control API, wire-level checks)."""
    return _http


@pytest.fixture
def spec() -> Any:
    """The shared OpenAPI contract checks (``validate``, ``validate_sse_chat_stream``, ...)."""
    return contracts
