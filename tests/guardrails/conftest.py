"""A gateway with guardrail policies on disk (``guardrails/*.yaml`` and a Python plugin), on the fake provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import yaml
from support.config import MASTER_KEY, base_config
from support.servers import FakeProvider, Gateway, gateway

POLICIES: dict[str, dict[str, Any]] = {
    "secrets": {
        "input": [{"type": "secrets", "action": "block"}],
        "output": [{"type": "secrets", "action": "block"}],
    },
    "pii-mask": {"input": [{"type": "pii", "action": "mask", "entities": ["email", "phone"]}]},
    "redact": {"input": [{"type": "pii", "name": "cards", "action": "redact", "entities": ["credit_card", "us_ssn"]}]},
    "out-secrets": {"output": [{"type": "secrets", "action": "block"}]},
    "json": {"output": [{"type": "json_schema", "action": "block"}]},
    "injection": {"input": [{"type": "prompt_injection", "action": "block", "classifier": False}]},
    "broken": {"input": [{"type": "python", "name": "broken", "class": "guardrails/plugins.py:Broken"}]},
    "broken-open": {
        "input": [{"type": "python", "name": "flaky", "class": "guardrails/plugins.py:Broken", "fail_open": True}]
    },
    "slow": {"input": [{"type": "python", "name": "slow", "class": "guardrails/plugins.py:Slow", "timeout_ms": 200}]},
}

PLUGINS = """
import asyncio


class Broken:
    spans = True
    max_length = 64

    async def scan(self, texts):
        raise RuntimeError("the detector's own failure")


class Slow:
    spans = True
    max_length = 64

    async def scan(self, texts):
        await asyncio.sleep(30)
        return [[] for _ in texts]
"""

SECTION = {
    "policies": ["guardrails/*.yaml"],
    "default": [],
    "keys": {"guarded-key": ["pii-mask"], "glob-*": ["redact"]},
    "teams": {"guarded-team": ["redact"]},
    "models": {"gpt-4o": ["secrets", "pii-mask"]},
    "prompts": {"guarded-prompt": ["injection", "secrets"]},
}


@pytest.fixture(scope="module")
def guard_gateway(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("guardrails-gateway")
    folder = tmp / "guardrails"
    folder.mkdir()
    for name, policy in POLICIES.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(policy))
    (folder / "plugins.py").write_text(PLUGINS)
    config = base_config(fake, tmp, gateway={"guardrails": SECTION})
    config["model_list"] = [
        {"model_name": model, "litellm_params": {"model": f"openai/{model}", "api_base": fake.v1, "api_key": "f"}}
        for model in ("gpt-4o-mini", "gpt-4o")
    ]
    config["router_settings"] = {"num_retries": 0}
    with gateway(config, tmp, env={"GATEWAY_GATEWAY__PROMPT_REFRESH_SECONDS": "0.2"}) as server:
        yield server


@pytest.fixture(scope="module")
def admin(guard_gateway: Gateway) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=guard_gateway.url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def sdk(guard_gateway: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=guard_gateway.v1, api_key=MASTER_KEY, max_retries=0, timeout=60) as client:
        yield client
