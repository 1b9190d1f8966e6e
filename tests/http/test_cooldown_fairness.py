"""Only upstream faults cool a deployment down; what one client causes never locks the others out (issue 8,
defect 3). Also: errors of the provider adapter reach the client as a short OpenAI-shaped error, never a
traceback (part of defect 10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from support.config import MASTER_KEY, base_config
from support.keyed import Admin
from support.servers import FakeProvider, Gateway, gateway

HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def gw(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A cooldown after 2 failures in a row, for 60 s: any wrongly counted failure shows at once."""
    tmp = tmp_path_factory.mktemp("fairness")
    config = base_config(fake, tmp, router_settings={"allowed_fails": 2, "cooldown_time": 60, "num_retries": 1})
    config["model_list"] += [
        {
            "model_name": "shared",
            "litellm_params": {"model": "openai/slow-50-shared", "api_base": fake.v1, "api_key": "fake", "timeout": 5},
        },
    ]
    with gateway(config, tmp, ready_timeout=120) as server:
        yield server


def post(gw: Gateway, key: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(
        gw.v1 + "/chat/completions", json=body, headers={"Authorization": f"Bearer {key}", **headers}, timeout=30
    )


def test_a_clients_own_short_timeouts_do_not_cool_the_model_down_for_others(gw: Gateway, fake: FakeProvider) -> None:
    admin = Admin(gw.url)
    impatient, other = admin.create_key(), admin.create_key()
    body = {"model": "shared", "messages": HELLO}
    for _ in range(6):
        answer = post(gw, impatient, body, **{"x-gateway-timeout": "0.0001"})
        assert answer.status_code == 504, answer.text
        assert answer.json()["error"]["type"] == "timeout"
    for _ in range(5):
        assert post(gw, other, body).status_code == 200, "another tenant is not locked out"
    assert "cools down" not in gw.log()


def test_a_bad_response_format_on_a_litellm_deployment_is_a_clean_400_and_no_cooldown(
    gw: Gateway, fake: FakeProvider
) -> None:
    body = {"model": "claude-sonnet", "messages": HELLO, "response_format": {}}
    for _ in range(4):
        answer = post(gw, MASTER_KEY, body)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "Traceback" not in answer.text and 'File "' not in answer.text
        assert len(error["message"]) < 600
    assert fake.count("claude-3-5-sonnet-20241022", "/v1/messages") == 0, "not retried, nothing sent"
    with openai.OpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0) as sdk:
        reply = sdk.chat.completions.create(model="claude-sonnet", messages=HELLO)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "Echo: hi", "the deployment did not cool down"
    assert "cools down" not in gw.log()


def test_a_bad_request_from_the_provider_never_cools_down(gw: Gateway, fake: FakeProvider) -> None:
    for _ in range(4):
        assert post(gw, MASTER_KEY, {"model": "always-400", "messages": HELLO}).status_code == 400
    assert fake.count("fail-400") == 4, "each one reached the provider: no cooldown in between"


def test_a_short_timeout_on_a_really_slow_upstream_still_counts_when_it_is_the_deployments_own(
    fake: FakeProvider, tmp_path: Path
) -> None:
    config = base_config(fake, tmp_path, router_settings={"allowed_fails": 2, "cooldown_time": 60, "num_retries": 0})
    config["model_list"] = [
        {"model_name": "slow", "litellm_params": {"model": "openai/slow-2000-own", "api_base": fake.v1, "timeout": 0.2}}
    ]
    config["router_settings"]["fallbacks"] = []
    with gateway(config, tmp_path) as gw:
        statuses = [post(gw, MASTER_KEY, {"model": "slow", "messages": HELLO}).status_code for _ in range(3)]
    assert statuses == [504, 504, 503], "the deployment's own timeout is an upstream fault"
