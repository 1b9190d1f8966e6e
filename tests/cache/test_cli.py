"""``gateway cache stats`` reads hit rates and savings from the request log; ``gateway cache clear`` empties the
running gateway's cache through the change bus."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import openai
from support.caching import MODEL, ask, entries, wait_filed
from support.servers import Gateway


def gateway_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=120)


def model_stats(cached: Gateway) -> dict[str, Any]:
    url = f"sqlite:///{cached.config_path.parent / 'gateway.db'}"
    done = gateway_cli("cache", "stats", "--json", "--database-url", url)
    assert done.returncode == 0, done.stderr
    return next((row for row in json.loads(done.stdout) if row["model"] == MODEL), {})


def test_stats_show_hits_and_clear_empties_the_running_gateway(cached: Gateway, sdk: openai.OpenAI) -> None:
    before = entries(cached)
    question = "What is the longest river in South America?"
    ask(sdk, question)
    wait_filed(cached, before + 1)
    ask(sdk, question)
    ask(sdk, "What's the longest river in South America?")
    deadline = time.monotonic() + 30
    while (row := model_stats(cached)).get("semantic_hits", 0) < 1 or row.get("hits", 0) < 1:
        assert time.monotonic() < deadline, row  # the request log is written in the background
        time.sleep(0.2)
    assert 0 < row["hit_rate"] < 1

    done = gateway_cli("cache", "clear", "--config", str(cached.config_path))
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 30
    while entries(cached) > 0:
        assert time.monotonic() < deadline, "the running gateway never heard the clear"
        time.sleep(0.05)
    assert ask(sdk, question)[1]["x-gateway-cache"] == "miss"
