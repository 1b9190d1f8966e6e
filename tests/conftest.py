"""Shared fixtures: one fake provider and one gateway for the session, and SDK clients aimed at the gateway.

Both are real servers on loopback ports, started as separate processes. Tests that need their own config start
their own gateway with ``support.servers.gateway``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from support.servers import FakeProvider, Gateway, fake_provider, gateway

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
MASTER_KEY = "sk-test-master"


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProvider]:
    with fake_provider() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_fake(request: pytest.FixtureRequest) -> None:
    """Faults and counters never leak from one test into the next."""
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()


def base_config(fake: FakeProvider, tmp: Path, **sections: Any) -> dict[str, Any]:
    """A config with fast-path, litellm and deliberately broken deployments on the fake provider."""
    model_list = [
        _model("gpt-4o-mini", "openai/gpt-4o-mini", fake.v1),
        _model("text-embedding-3-small", "openai/text-embedding-3-small", fake.v1),
        _model("claude-sonnet", "anthropic/claude-3-5-sonnet-20241022", fake.url),
        _model("flaky", "openai/flaky-model", fake.v1),
        _model("always-503", "openai/fail-503", fake.v1),
        _model("always-400", "openai/fail-400", fake.v1),
        _model("always-429", "openai/fail-429", fake.v1),
        _model("always-429-b", "openai/fail-429-b", fake.v1),
        _model("always-500", "openai/fail-500", fake.v1),
        _model("unavailable", "openai/fail-503-b", fake.v1),
        _model("backup", "openai/backup-model", fake.v1),
        _model("slow", "openai/slow-3000", fake.v1, timeout=0.5),
        _model("slow-b", "openai/slow-3000-b", fake.v1, timeout=0.5),
        _model("cut", "openai/cut-2", fake.v1),
        _model("hang", "openai/slow-5000-hang", fake.v1),
    ]
    config: dict[str, Any] = {
        "model_list": model_list,
        "router_settings": {
            "num_retries": 2,
            "fallbacks": [{"always-503": ["backup"]}],
            "cooldown_time": 30,
            "allowed_fails": 3,
        },
        "general_settings": {"master_key": MASTER_KEY, "database_url": f"sqlite:///{tmp / 'gateway.db'}"},
        "gateway": {"retry_backoff_base": 0.01, "retry_backoff_max": 0.05},
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    return config


def _model(name: str, model: str, api_base: str, **params: Any) -> dict[str, Any]:
    return {"model_name": name, "litellm_params": {"model": model, "api_base": api_base, "api_key": "fake", **params}}


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
