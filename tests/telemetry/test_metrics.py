"""``GET /metrics`` of a running gateway after real traffic: counts per model, status and team, upstream errors
and cooldowns by deployment, rate-limit refusals, bounded labels (junk model names -> one ``other`` series),
access only for the master key or the scrape token, and one view over several worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support.config import MASTER_KEY, base_config
from support.keyed import Admin
from support.scrape import scrape, value
from support.servers import FakeProvider, Gateway, gateway

SCRAPE_TOKEN = "scrape-token-0123456789"


def chat(server: Gateway, model: str, key: str = MASTER_KEY, **extra: Any) -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], **extra}
    headers = {"authorization": f"Bearer {key}"}
    return httpx.post(server.v1 + "/chat/completions", json=body, headers=headers, timeout=60).status_code


@pytest.fixture(scope="module")
def metered(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("metered")
    config = base_config(fake, tmp)
    config["gateway"]["telemetry"] = {"metrics_token": SCRAPE_TOKEN}
    with gateway(config, tmp) as server:
        yield server


def test_requests_tokens_and_cost_are_counted_by_model_status_and_team(metered: Gateway) -> None:
    admin = Admin(metered.url)
    team = admin.create_team(name="metrics-team")
    key = admin.create_key(team=team["id"])
    before = scrape(metered)
    assert all(chat(metered, "gpt-4o-mini", key) == 200 for _ in range(3))
    after = scrape(metered)
    labels = {"model": "gpt-4o-mini", "status": "200", "team": "metrics-team"}
    assert value(after, "gateway_requests_total", **labels) - value(before, "gateway_requests_total", **labels) == 3
    count = "gen_ai_server_request_duration_seconds_count"
    assert value(after, count, model="gpt-4o-mini") - value(before, count, model="gpt-4o-mini") >= 3
    tokens = value(after, "gen_ai_client_token_usage_sum", model="gpt-4o-mini", gen_ai_token_type="input")
    assert tokens > 0
    assert value(after, "gateway_cost_usd_total", model="gpt-4o-mini", team="metrics-team") > 0
    assert value(after, "gateway_cache_requests_total", model="gpt-4o-mini", status="none") >= 3


def test_junk_model_names_are_one_label(metered: Gateway) -> None:
    junk = [f'junk-{n}-\u00e9"{{}}' for n in range(25)]
    before = scrape(metered)
    assert all(chat(metered, name) == 404 for name in junk)
    response = httpx.get(metered.url + "/metrics", headers={"authorization": f"Bearer {MASTER_KEY}"})
    assert "junk-" not in response.text
    after = scrape(metered)
    labels = {"model": "other", "status": "404", "team": ""}
    assert value(after, "gateway_requests_total", **labels) - value(before, "gateway_requests_total", **labels) == 25
    configured = {entry["model_name"] for entry in yaml.safe_load(metered.config_path.read_text())["model_list"]}
    models = {dict(labels)["model"] for (_, labels) in after if "model" in dict(labels)}
    assert models <= configured | {"other"}


def test_upstream_errors_retries_and_cooldowns_by_deployment(metered: Gateway) -> None:
    before = scrape(metered)
    assert chat(metered, "always-503") == 200  # three failed attempts, then the fallback answers
    after = scrape(metered)
    errors = [
        (labels, count - before.get((name, labels), 0.0))
        for (name, labels), count in after.items()
        if name == "gateway_upstream_errors_total"
    ]
    failed = {dict(labels)["deployment"]: delta for labels, delta in errors if delta}
    assert sum(failed.values()) == 3
    assert all(dict(labels)["reason"] == "service_unavailable" for labels, delta in errors if delta)
    retries = value(after, "gateway_upstream_retries_total", model="always-503")
    assert retries - value(before, "gateway_upstream_retries_total", model="always-503") == 3
    cooled = [key for key in after if key[0] == "gateway_deployment_cooldowns_total"]
    assert cooled and all(dict(labels)["deployment"] in failed for _, labels in cooled)


def test_rate_limit_refusals_and_time_to_first_token(metered: Gateway) -> None:
    admin = Admin(metered.url)
    team = admin.create_team(name="limited-team")
    key = admin.create_key(team=team["id"], rpm=1)
    before = scrape(metered)
    assert chat(metered, "gpt-4o-mini", key) == 200
    assert chat(metered, "gpt-4o-mini", key) == 429  # the key's own limit: no upstream attempt
    with httpx.stream(
        "POST",
        metered.v1 + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        timeout=60,
    ) as response:
        assert response.status_code == 200 and "[DONE]" in response.read().decode()
    after = scrape(metered)
    limited = {"model": "gpt-4o-mini", "team": "limited-team"}
    assert (
        value(after, "gateway_rate_limited_total", **limited) - value(before, "gateway_rate_limited_total", **limited)
        == 1
    )
    ttft = "gen_ai_server_time_to_first_token_seconds_count"
    assert value(after, ttft, model="gpt-4o-mini") - value(before, ttft, model="gpt-4o-mini") == 1


def test_log_writer_gauges_are_present(metered: Gateway) -> None:
    samples = scrape(metered)
    for name in ("gateway_log_queue_depth", "gateway_log_spill_bytes", "gateway_log_lag_seconds"):
        assert (name, ()) in samples


def test_only_the_master_key_or_the_scrape_token_may_scrape(metered: Gateway) -> None:
    assert scrape(metered, SCRAPE_TOKEN)
    url = metered.url + "/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"authorization": "Bearer wrong-token-123456"}).status_code == 401
    key = Admin(metered.url).create_key()
    refused = httpx.get(url, headers={"authorization": f"Bearer {key}"})
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
    assert SCRAPE_TOKEN not in refused.text


def test_metrics_can_be_turned_off(fake: FakeProvider, tmp_path: Path) -> None:
    config = base_config(fake, tmp_path)
    config["gateway"]["telemetry"] = {"metrics": False}
    with gateway(config, tmp_path) as server:
        response = httpx.get(server.url + "/metrics", headers={"authorization": f"Bearer {MASTER_KEY}"})
    assert response.status_code == 404 and response.json()["error"]["type"] == "invalid_request_error"


def test_several_workers_report_one_total(fake: FakeProvider, tmp_path: Path) -> None:
    with gateway(base_config(fake, tmp_path), tmp_path, args=("--workers", "2")) as server:
        sent = 30
        assert all(chat(server, "gpt-4o-mini") == 200 for _ in range(sent))
        labels = {"model": "gpt-4o-mini", "status": "200", "team": ""}
        # Each scrape lands on either worker; each one reads every worker's files.
        seen = {value(scrape(server), "gateway_requests_total", **labels) for _ in range(6)}
    assert seen == {float(sent)}
