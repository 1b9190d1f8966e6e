"""A client that leaves a request (not streamed, or a stream before its first chunk) does not make it free: the
upstream had the request and bills it.

The row names the deployment, counts the prompt, bounds the output (the request's ``max_tokens``, else the model's
``max_output_tokens``), is flagged as an estimate, and the key's budget is charged with it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.keyed import Admin
from support.servers import FakeProvider, Gateway, gateway

MASTER = "sk-test-master"
IN, OUT = 1e-6, 2e-6
HELLO = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def server(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("disconnect")
    priced = {"api_base": fake.v1, "api_key": "k", "input_cost_per_token": IN, "output_cost_per_token": OUT}
    config = {
        "model_list": [
            {"model_name": "hang", "litellm_params": {"model": "openai/slow-5000-priced", **priced}},
            {"model_name": "quick", "litellm_params": {"model": "openai/quick-model", **priced}},
            {"model_name": "hang-mini", "litellm_params": {"model": "openai/slow-5000-mini", "api_base": fake.v1,
                                                           "api_key": "k"},
             "model_info": {"base_model": "gpt-4o-mini"}},
            {"model_name": "unpriced", "litellm_params": {"model": "openai/mystery-model", "api_base": fake.v1,
                                                          "api_key": "k"}},
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp / 'gateway.db'}"},
        "gateway": {"log_flush_interval": 0.05, "budget_unpriced_models": "allow"},
    }
    with gateway(config, tmp) as running:
        yield running


def leave(server: Gateway, key: str, **body: Any) -> None:
    with pytest.raises(httpx.TimeoutException):
        httpx.post(server.v1 + "/chat/completions", json={"messages": HELLO, **body},
                   headers={"Authorization": f"Bearer {key}"}, timeout=0.5)


def row_of(server: Gateway, model: str, timeout: float = 10.0) -> dict[str, Any]:
    database = server.config_path.parent / "gateway.db"
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(database) as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute("SELECT * FROM request_logs WHERE model = ?", (model,)).fetchone()
        if row is not None:
            return dict(row)
        assert time.monotonic() < deadline, f"no request for {model} was logged"
        time.sleep(0.05)


def test_a_request_the_client_left_is_logged_as_an_estimate_and_charged_to_the_budget(server: Gateway) -> None:
    key = Admin(server.url, MASTER).create_key(budget_usd=0.0001)
    leave(server, key, model="hang", max_tokens=50)
    row = row_of(server, "hang")
    assert row["status"] == 499 and row["deployment_id"] is not None and row["upstream_model"] == "slow-5000-priced"
    assert row["tokens_estimated"] == 1 and row["prompt_tokens"] > 0 and row["completion_tokens"] == 50
    assert row["cost_usd"] == pytest.approx(row["prompt_tokens"] * IN + 50 * OUT, rel=1e-12)
    # The budget was charged: the next call finds it spent.
    refused = httpx.post(server.v1 + "/chat/completions", json={"model": "quick", "messages": HELLO, "max_tokens": 2},
                         headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"


def test_without_max_tokens_the_output_is_bounded_by_the_models_maximum(server: Gateway) -> None:
    leave(server, MASTER, model="hang-mini")
    row = row_of(server, "hang-mini")
    assert (row["status"], row["tokens_estimated"], row["completion_tokens"]) == (499, 1, 16384)
    assert row["cost_usd"] == pytest.approx(row["prompt_tokens"] * 1.5e-7 + 16384 * 6e-7, rel=1e-12)


def test_the_config_can_let_budgeted_keys_use_an_unpriced_model(server: Gateway) -> None:
    key = Admin(server.url, MASTER).create_key(budget_usd=1.0)
    answered = httpx.post(server.v1 + "/chat/completions", json={"model": "unpriced", "messages": HELLO},
                          headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert answered.status_code == 200  # gateway.budget_unpriced_models: allow (the default refuses: 403)


def test_a_stream_the_client_left_before_its_first_chunk_is_an_estimate_too(server: Gateway) -> None:
    with pytest.raises(httpx.TimeoutException), httpx.stream(
        "POST", server.v1 + "/chat/completions", json={"model": "hang", "messages": HELLO, "max_tokens": 40,
                                                       "stream": True, "user": "stream-left"},
        headers={"Authorization": f"Bearer {MASTER}"}, timeout=0.5,
    ) as response:
        response.read()
    database = server.config_path.parent / "gateway.db"
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(database) as connection:
            connection.row_factory = sqlite3.Row
            found = connection.execute(
                "SELECT * FROM request_logs WHERE model = 'hang' AND stream = 1 ORDER BY created_at DESC").fetchone()
        if found is not None:
            break
        assert time.monotonic() < deadline, "the stream was not logged"
        time.sleep(0.05)
    row = dict(found)
    assert row["deployment_id"] is not None and row["cost_usd"] > 0
    if row["status"] == 499:  # the gateway noticed the client leave before the upstream's first chunk
        assert row["tokens_estimated"] == 1 and row["completion_tokens"] == 40
        assert row["cost_usd"] == pytest.approx(row["prompt_tokens"] * IN + 40 * OUT)
    else:  # it noticed only at its first write, after the upstream had answered in full: its real usage
        assert row["status"] == 200 and row["tokens_estimated"] == 0
