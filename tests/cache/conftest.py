"""A gateway with the semantic cache on (in-process stores), shared by a test module."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from support.caching import cache_config
from support.config import MASTER_KEY
from support.servers import FakeProvider, Gateway, gateway


@pytest.fixture(scope="module")
def cached(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("cached")
    # `backup` keeps answers that call tools (other models never store them).
    with gateway(cache_config(fake, tmp, models={"backup": {"tool_calls": True}}), tmp) as server:
        yield server


@pytest.fixture
def sdk(cached: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=cached.v1, api_key=MASTER_KEY, max_retries=0) as client:
        yield client
