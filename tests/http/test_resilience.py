"""Retries, Retry-After, fallbacks, cooldown, timeouts and client disconnects, through the running gateway."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import openai
import pytest
from support.config import MASTER_KEY, base_config
from support.servers import FakeProvider, Gateway, gateway

HELLO = [{"role": "user", "content": "hi"}]


def test_retries_transient_errors_until_success(client: openai.OpenAI, fake: FakeProvider) -> None:
    fake.add_fault(model="flaky-model", kind="status", status=503, count=2)
    raw = client.chat.completions.with_raw_response.create(model="flaky", messages=HELLO)
    assert raw.parse().choices[0].message.content == "Echo: hi"
    assert raw.headers["x-gateway-attempts"] == "3"
    assert fake.count("flaky-model") == 3


def test_retries_a_dropped_connection(client: openai.OpenAI, fake: FakeProvider) -> None:
    fake.add_fault(model="flaky-model", kind="cut", count=1)
    assert client.chat.completions.create(model="flaky", messages=HELLO).choices[0].message.content == "Echo: hi"
    assert fake.count("flaky-model") == 2


def test_honours_retry_after(client: openai.OpenAI, fake: FakeProvider) -> None:
    fake.add_fault(model="flaky-model", kind="status", status=429, retry_after=1, count=1)
    started = time.monotonic()
    client.chat.completions.create(model="flaky", messages=HELLO)
    assert time.monotonic() - started >= 1.0, "the provider asked for a one-second wait"


def test_does_not_retry_a_bad_request(client: openai.OpenAI, fake: FakeProvider) -> None:
    fake.add_fault(model="flaky-model", kind="status", status=422, count=1)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="flaky", messages=HELLO)
    assert fake.count("flaky-model") == 1


def test_falls_back_to_another_model_name(client: openai.OpenAI, fake: FakeProvider) -> None:
    raw = client.chat.completions.with_raw_response.create(model="always-503", messages=HELLO)
    assert raw.parse().choices[0].message.content == "Echo: hi"
    assert raw.headers["x-gateway-deployment"].startswith("backup")
    assert fake.count("backup-model") == 1


def test_streams_fall_back_too(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="always-503", messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: hi"


def test_failing_deployment_cools_down_and_gets_no_traffic(fake: FakeProvider, tmp_path: Path) -> None:
    config = base_config(fake, tmp_path, router_settings={"allowed_fails": 2, "cooldown_time": 60, "num_retries": 1})
    config["model_list"] = [
        {"model_name": "pair", "litellm_params": {"model": "openai/fail-500-pair", "api_base": fake.v1}},
        {"model_name": "pair", "litellm_params": {"model": "openai/good-pair", "api_base": fake.v1}},
    ]
    config["router_settings"]["fallbacks"] = []
    with gateway(config, tmp_path) as gw, openai.OpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0) as sdk:
        for _ in range(20):
            assert sdk.chat.completions.create(model="pair", messages=HELLO).choices[0].message.content == "Echo: hi"
        failures = fake.count("fail-500-pair")
        assert 1 <= failures <= 2, "two failures in a row put it in cooldown; no request went there afterwards"
        assert fake.count("good-pair") == 20
        assert "cools down" in gw.log()


def test_every_deployment_cooling_down_is_a_503_with_retry_after(fake: FakeProvider, tmp_path: Path) -> None:
    config = base_config(fake, tmp_path, router_settings={"allowed_fails": 1, "cooldown_time": 60, "num_retries": 0})
    config["router_settings"]["fallbacks"] = []
    with gateway(config, tmp_path) as gw:
        headers = {"Authorization": f"Bearer {MASTER_KEY}"}
        body = {"model": "always-500", "messages": HELLO}
        assert httpx.post(gw.v1 + "/chat/completions", json=body, headers=headers).status_code == 502
        cooled = httpx.post(gw.v1 + "/chat/completions", json=body, headers=headers)
        assert cooled.status_code == 503
        assert 1 <= int(cooled.headers["retry-after"]) <= 60
        assert fake.count("fail-500") == 1


def test_per_request_timeout_header(gw: Gateway) -> None:
    started = time.monotonic()
    response = httpx.post(
        gw.v1 + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": HELLO},
        headers={"Authorization": f"Bearer {MASTER_KEY}", "x-gateway-timeout": "0.2"},
    )
    assert response.status_code == 200, "a fast upstream answers within the limit"
    slow = httpx.post(
        gw.v1 + "/chat/completions",
        json={"model": "slow-b", "messages": HELLO},
        headers={"Authorization": f"Bearer {MASTER_KEY}", "x-gateway-timeout": "0.1"},
        timeout=10,
    )
    assert slow.status_code == 504
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("strategy", ["simple-shuffle", "least-busy", "latency-based-routing"])
def test_load_balancing_spreads_over_deployments(fake: FakeProvider, tmp_path: Path, strategy: str) -> None:
    config = base_config(fake, tmp_path, router_settings={"routing_strategy": strategy})
    config["model_list"] = [
        {"model_name": "lb", "litellm_params": {"model": f"openai/lb-a-{strategy}", "api_base": fake.v1, "weight": 3}},
        {"model_name": "lb", "litellm_params": {"model": f"openai/lb-b-{strategy}", "api_base": fake.v1, "weight": 1}},
    ]
    config["router_settings"]["fallbacks"] = []
    with gateway(config, tmp_path) as gw, openai.OpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0) as sdk:
        for _ in range(80):
            sdk.chat.completions.create(model="lb", messages=HELLO)
    a, b = fake.count(f"lb-a-{strategy}"), fake.count(f"lb-b-{strategy}")
    assert a + b == 80
    if strategy == "simple-shuffle":
        assert 45 <= a <= 75, f"weights 3:1 should give about 60 of 80, got {a}"
    else:
        assert a >= 1 and b >= 1, "both deployments are used"


def test_client_disconnect_cancels_the_upstream_call_and_is_recorded(gw: Gateway) -> None:
    database = gw.log_path.parent / "gateway.db"
    with pytest.raises(httpx.TimeoutException):
        httpx.post(
            gw.v1 + "/chat/completions",
            json={"model": "hang", "messages": HELLO},
            headers={"Authorization": f"Bearer {MASTER_KEY}"},
            timeout=0.5,
        )
    deadline = time.monotonic() + 5
    rows: list[tuple[int, float]] = []
    while time.monotonic() < deadline and not rows:
        with sqlite3.connect(database) as connection:
            rows = connection.execute(
                "SELECT status, latency_ms FROM request_logs WHERE model = 'hang'"
            ).fetchall()
        time.sleep(0.1)
    assert rows, "the abandoned request is still logged"
    status, latency_ms = rows[0]
    assert status == 499
    assert latency_ms < 3000, "the gateway stopped waiting for the upstream when the client left"
