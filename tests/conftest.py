"""Shared fixtures: one fake provider and one gateway for the session, and SDK clients aimed at the gateway.

Both are real servers on loopback ports, started as separate processes. Tests that need their own config start
their own gateway with ``support.servers.gateway``. ``database_url`` and ``database`` are the one way a test gets a
database of its own (``support.databases``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest
from support.config import MASTER_KEY, base_config
from support.databases import SQLITE, new_database, opened
from support.servers import FakeProvider, Gateway, fake_provider, gateway

from gateway.db import Database

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProvider]:
    with fake_provider() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_fake(request: pytest.FixtureRequest) -> None:
    """Faults and counters never leak from one test into the next."""
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()


@pytest.fixture(scope="session")
def gw(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("gateway")
    with gateway(base_config(fake, tmp), tmp) as server:
        yield server


@pytest.fixture
def client(gw: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def aclient(gw: Gateway) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0)


@pytest.fixture
def claude(gw: Gateway) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gw.url, api_key=MASTER_KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture(params=[SQLITE])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database: SQLite, unless the test parametrises it (``support.databases.BOTH``)."""
    with new_database(request.param, tmp_path, request.node.module.__name__.rpartition(".")[2]) as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The ``database_url`` database, migrated to the head."""
    with opened(database_url) as db:
        yield db
