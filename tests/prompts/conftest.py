"""Fixtures for the prompt tests: a gateway on its own SQLite file, and the kit (``support.prompts``) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from support.config import MASTER_KEY, base_config
from support.prompts import REFRESH_SECONDS, PromptKit
from support.servers import FakeProvider, Gateway, gateway


@pytest.fixture(scope="module")
def prompt_gateway(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("prompt-gateway")
    config = base_config(fake, tmp)
    # OpenAI-compatible deployments only: the gateway then starts without loading litellm.
    config["model_list"] = [
        {"model_name": model, "litellm_params": {"model": f"openai/{model}", "api_base": fake.v1, "api_key": "f"}}
        for model in ("gpt-4o-mini", "gpt-4o", "backup")
    ]
    config["router_settings"] = {"num_retries": 0}
    with gateway(config, tmp, env={"GATEWAY_GATEWAY__PROMPT_REFRESH_SECONDS": REFRESH_SECONDS}) as server:
        yield server


@pytest.fixture
def kit(prompt_gateway: Gateway, tmp_path: Path) -> Iterator[PromptKit]:
    folder = tmp_path / "prompts"
    folder.mkdir()
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with (
        openai.OpenAI(base_url=prompt_gateway.v1, api_key=MASTER_KEY, max_retries=0) as sdk,
        httpx.Client(base_url=prompt_gateway.url, headers=headers, timeout=30) as admin,
    ):
        yield PromptKit(prompt_gateway, sdk, admin, folder)
