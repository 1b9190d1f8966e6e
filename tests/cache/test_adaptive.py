"""The adaptive mode through the running gateway: without evidence a would-be semantic hit is not served; it is
sent upstream (explored) and the fresh answer is compared with the cached one, which is learned."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
from support.caching import MODEL, ask, cache_config, entries, wait_filed
from support.config import MASTER_KEY
from support.servers import FakeProvider, Gateway, gateway


def test_without_evidence_a_paraphrase_is_explored_and_the_comparison_is_learned(
    fake: FakeProvider, tmp_path: Path
) -> None:
    config = cache_config(fake, tmp_path, delta=0.05, explore_rate=1.0)
    with gateway(config, tmp_path) as server:
        sdk = openai.OpenAI(base_url=server.v1, api_key=MASTER_KEY, max_retries=0)
        ask(sdk, "How do I reset my password?")
        wait_filed(server, 1)
        assert ask(sdk, "How do I reset my password?")[1]["x-gateway-cache"] == "hit"  # exact hits need no evidence
        answer, headers = ask(sdk, "How can I reset my password?")
        assert headers["x-gateway-cache"] == "miss" and answer == "Echo: How can I reset my password?"
        assert fake.count(MODEL) == 2
        deadline = time.monotonic() + 30
        while stats(server).get("observations", 0) < 1:
            assert time.monotonic() < deadline, stats(server)
            time.sleep(0.05)
        assert entries(server) == 1, "an answer that agreed with the cached one adds no second entry"


def stats(server: Gateway) -> dict[str, int]:
    response = httpx.get(server.url + "/admin/cache", headers={"authorization": f"Bearer {MASTER_KEY}"})
    return dict(response.json())
