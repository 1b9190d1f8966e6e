"""``gateway costs report`` (run as a process), ``GET /admin/costs`` and ``GET /v1/usage`` tell the same story,
for traffic sent through the real gateway with a PostgreSQL request log.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from support.servers import FakeProvider, Gateway, gateway
from support.throwaway import pg_database

pytestmark = pytest.mark.postgres
MASTER = "sk-test-master"


def cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def world(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str, str]]:
    """A gateway with traffic from the master key (3 requests) and from a virtual key (3 requests)."""
    tmp = tmp_path_factory.mktemp("reports")
    with pg_database("reports") as url:
        cli("teams", "create", "--name", "alpha", "--database-url", url)
        owner_key = cli("keys", "create", "--name", "owner", "--team", "alpha", "--database-url", url).strip()
        config = {
            "model_list": [
                {"model_name": name, "litellm_params": {"model": f"openai/{upstream}", "api_base": fake.v1,
                                                        "api_key": "k", **prices}}
                for name, upstream, prices in [
                    ("gpt-4o-mini", "gpt-4o-mini", {}),
                    ("house", "house-model", {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}),
                    ("mystery", "mystery-model", {}),
                ]
            ],
            "general_settings": {"master_key": MASTER, "database_url": url},
            "gateway": {"log_flush_interval": 0.05},
        }
        with gateway(config, tmp) as server:
            send_traffic(server, owner_key)
            wait_for_log(server, 6)
            yield server, url, owner_key


def send_traffic(server: Gateway, owner_key: str) -> None:
    messages = [{"role": "user", "content": "how much was that"}]
    with openai.OpenAI(base_url=server.v1, api_key=MASTER, max_retries=0) as master:
        for model, tags in [("gpt-4o-mini", "team-a,batch"), ("gpt-4o-mini", "team-a"), ("mystery", "")]:
            master.chat.completions.create(model=model, messages=messages, extra_headers={"x-gateway-tags": tags})
    with openai.OpenAI(base_url=server.v1, api_key=owner_key, max_retries=0) as owner:
        owner.chat.completions.create(model="house", messages=messages)
        owner.chat.completions.create(model="gpt-4o-mini", messages=messages, extra_body={"metadata": {"tags": ["b"]}})
        for _ in owner.chat.completions.create(model="house", messages=messages, stream=True):
            pass


def admin(server: Gateway, path: str, key: str = MASTER, **params: str) -> httpx.Response:
    return httpx.get(server.url + path, params=params, headers={"authorization": f"Bearer {key}"}, timeout=10)


def wait_for_log(server: Gateway, requests: int) -> None:
    deadline = time.monotonic() + 10
    while admin(server, "/admin/costs").json()["total"]["requests"] < requests:
        assert time.monotonic() < deadline, "the log never caught up"
        time.sleep(0.1)


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {"data": report["data"], "total": report["total"], "source": report["source"]}


@pytest.mark.parametrize(("group_by", "since"), [("model,day", "7d"), ("key,provider", "7d"), ("tag", "7d"),
                                                 ("model", "1h")])
def test_the_cli_and_the_admin_api_report_the_same_numbers(
    world: tuple[Gateway, str, str], group_by: str, since: str
) -> None:
    server, url, _ = world
    from_cli = json.loads(cli("costs", "report", "--database-url", url, "--by", group_by, "--since", since,
                              "--format", "json"))
    response = admin(server, "/admin/costs", group_by=group_by, start=since, format="json")
    assert response.status_code == 200
    assert comparable(from_cli) == comparable(response.json())
    assert from_cli["total"]["requests"] == 6


def test_csv_from_the_cli_and_the_api_is_identical(world: tuple[Gateway, str, str]) -> None:
    server, _, _ = world
    from_cli = cli("costs", "report", "--config", str(server.config_path), "--by", "model", "--format", "csv")
    response = admin(server, "/admin/costs", group_by="model", format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert from_cli == response.text
    header, *lines = from_cli.splitlines()
    assert header.startswith("model,requests,errors,error_rate,") and len(lines) == 3
    by_key = cli("costs", "report", "--database-url", world[1], "--by", "key,team", "--format", "csv").splitlines()
    assert by_key[0].startswith("key,key_name,team,team_name,requests,")
    assert any(",owner,team_" in line and ",alpha," in line for line in by_key[1:])


def test_the_report_prices_each_model_and_leaves_the_unpriced_one_unknown(world: tuple[Gateway, str, str]) -> None:
    server, _, _ = world
    rows = {row["model"]: row for row in admin(server, "/admin/costs", group_by="model").json()["data"]}
    house = rows["house"]
    expected = house["prompt_tokens"] * 1e-6 + house["completion_tokens"] * 2e-6
    assert house["requests"] == 2 and house["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert rows["mystery"]["unpriced"] == 1 and rows["mystery"]["cost_usd"] == 0.0


def test_a_key_owner_sees_only_its_own_spend(world: tuple[Gateway, str, str]) -> None:
    server, _, owner_key = world
    mine = admin(server, "/v1/usage", key=owner_key, group_by="model").json()
    assert mine["total"]["requests"] == 3
    assert {row["model"]: row["requests"] for row in mine["data"]} == {"house": 2, "gpt-4o-mini": 1}
    masters = admin(server, "/v1/usage", key=MASTER).json()
    assert masters["total"]["requests"] == 3 and masters["filters"] == {"key": "master"}
    everyone = admin(server, "/admin/costs").json()["total"]
    assert everyone["cost_usd"] == pytest.approx(mine["total"]["cost_usd"] + masters["total"]["cost_usd"])


def test_the_admin_report_needs_the_master_key(world: tuple[Gateway, str, str]) -> None:
    server, _, owner_key = world
    assert admin(server, "/admin/costs", key=owner_key).status_code == 403
    assert admin(server, "/v1/usage", key="sk-gw-not-a-key").status_code == 401


def test_bad_parameters_are_a_400_that_names_them(world: tuple[Gateway, str, str]) -> None:
    server, _, _ = world
    response = admin(server, "/admin/costs", group_by="colour")
    assert response.status_code == 400 and response.json()["error"]["param"] == "group_by"
    assert admin(server, "/admin/costs", start="last tuesday").json()["error"]["param"] == "start"


def failing(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode != 0, result.stdout
    return result


def test_filters_take_names_or_ids_and_an_unknown_one_is_an_error(world: tuple[Gateway, str, str]) -> None:
    server, url, _ = world
    by_name = json.loads(cli("costs", "report", "--database-url", url, "--key", "owner", "--format", "json"))
    assert by_name["total"]["requests"] == 3 and by_name["filters"]["key_name"] == "owner"
    key_id = by_name["filters"]["key"]
    assert key_id.startswith("key_")
    response = httpx.get(server.url + "/admin/costs", params={"key": key_id},
                         headers={"authorization": f"Bearer {MASTER}"}, timeout=10)
    by_id = response.json()
    assert by_id["data"] == by_name["data"]
    team = admin(server, "/admin/costs", team="alpha").json()
    assert team["total"]["requests"] == 3 and team["filters"]["team_name"] == "alpha"
    unknown = admin(server, "/admin/costs", team="beta")
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "team"
    assert "No team has the id or name 'beta'" in unknown.json()["error"]["message"]
    refused = failing("costs", "report", "--database-url", url, "--key", "nobody")
    assert "No key has the id or name 'nobody'" in refused.stderr


def test_every_report_by_key_or_team_names_them(world: tuple[Gateway, str, str]) -> None:
    server, _, _ = world
    rows = admin(server, "/admin/costs", group_by="team,key").json()["data"]
    owner = next(row for row in rows if row["key_name"] == "owner")
    assert owner["team_name"] == "alpha" and owner["team"].startswith("team_") and owner["key"].startswith("key_")
    master = next(row for row in rows if row["key"] == "master")
    assert master["key_name"] is None and master["team_name"] is None


def test_grouping_by_nothing_and_an_empty_range_are_errors_that_say_what_was_given(
    world: tuple[Gateway, str, str],
) -> None:
    server, url, _ = world
    assert "Name what to group by" in failing("costs", "report", "--database-url", url, "--by", "").stderr
    empty = admin(server, "/admin/costs", start="2026-11-05", end="2026-11-05T00:00:00").json()["error"]
    assert empty["param"] == "end"
    assert "`start` '2026-11-05'" in empty["message"] and "`end` '2026-11-05T00:00:00'" in empty["message"]


def test_a_report_from_a_config_needs_only_its_database_not_the_provider_keys(
    world: tuple[Gateway, str, str], tmp_path: Path
) -> None:
    _, url, _ = world
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n"
        "      api_key: os.environ/A_PROVIDER_KEY_NOBODY_SET\n"
        f"general_settings:\n  database_url: {url}\n"
    )
    report = json.loads(cli("costs", "report", "--config", str(config), "--format", "json"))
    assert report["total"]["requests"] == 6
