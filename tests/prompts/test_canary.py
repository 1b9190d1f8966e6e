"""Canary releases through the real gateway: the split, its stability per user, promote, rollback, compare."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from typing import Any

import openai
from support.config import MASTER_KEY
from support.prompts import PromptKit, eventually, prompt_doc

VARS = {"customer_name": "Ada", "question": "Hello?"}
REQUESTS = 2_000
PERCENT = 10
#: Chance that a fair 10% split falls outside the bounds below; the bounds are computed from it, not guessed.
ALPHA = 1e-4


def binomial_bounds(n: int, p: float, alpha: float) -> tuple[int, int]:
    """The smallest [lo, hi] with P(X < lo) <= alpha/2 and P(X > hi) <= alpha/2, for X ~ Binomial(n, p)."""

    def pmf(k: int) -> float:
        log = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        return math.exp(log + k * math.log(p) + (n - k) * math.log1p(-p))

    lo, tail = 0, 0.0
    while tail + pmf(lo) <= alpha / 2:
        tail += pmf(lo)
        lo += 1
    hi, tail = n, 0.0
    while tail + pmf(hi) <= alpha / 2:
        tail += pmf(hi)
        hi -= 1
    return lo, hi


async def _versions(base_url: str, name: str, users: list[str]) -> list[str]:
    """The version that served each user's request, sent 50 at a time."""
    gate = asyncio.Semaphore(50)
    async with openai.AsyncOpenAI(base_url=base_url, api_key=MASTER_KEY, max_retries=0) as client:

        async def one(user: str) -> str:
            async with gate:
                raw = await client.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=[], user=user,
                    extra_body={"prompt_id": name, "prompt_variables": VARS},
                )
                return str(raw.headers["x-gateway-prompt-version"])

        return list(await asyncio.gather(*(one(user) for user in users)))


def _canaried(kit: PromptKit, percent: float = PERCENT) -> str:
    name = kit.name("canary")
    kit.api_push(prompt_doc(name))
    doc = prompt_doc(name)
    doc["messages"][0]["content"] = "You are a support agent. Answer {{ customer_name }} warmly."
    kit.api_push(doc)
    kit.api_release(name, 1)
    kit.api_release(name, 2, canary=percent)
    return name


def test_binomial_bounds_are_what_the_normal_approximation_says() -> None:
    lo, hi = binomial_bounds(REQUESTS, PERCENT / 100, ALPHA)
    sd = math.sqrt(REQUESTS * 0.1 * 0.9)  # 13.4 requests
    assert abs((200 - lo) / sd - 3.9) < 0.25 and abs((hi - 200) / sd - 3.9) < 0.25  # z(1 - 1e-4/2) = 3.89


def test_a_10_percent_canary_gets_10_percent_of_2000_users_within_binomial_bounds(kit: PromptKit) -> None:
    name = _canaried(kit)
    served = Counter(asyncio.run(_versions(kit.gw.v1, name, [f"user-{i}" for i in range(REQUESTS)])))
    lo, hi = binomial_bounds(REQUESTS, PERCENT / 100, ALPHA)
    assert set(served) == {f"{name}@1", f"{name}@2"}
    assert lo <= served[f"{name}@2"] <= hi, f"canary got {served[f'{name}@2']} of {REQUESTS}; bounds [{lo}, {hi}]"


def test_each_user_always_sees_the_same_variant(kit: PromptKit) -> None:
    name = _canaried(kit, percent=50)
    users = [f"stable-{i}" for i in range(40)]
    rounds = [asyncio.run(_versions(kit.gw.v1, name, users)) for _ in range(3)]
    assert rounds[0] == rounds[1] == rounds[2]
    assert len(set(rounds[0])) == 2  # both variants are in use, so stability is not trivial
    keyed = {kit.served(name) for _ in range(10)}  # no `user`: the key decides
    assert len(keyed) == 1


def test_promote_makes_the_canary_production_for_everyone(kit: PromptKit) -> None:
    name = _canaried(kit, percent=30)
    response = kit.admin.post(f"/admin/prompts/{name}/promote", json={"force": True, "actor": "tester"})
    assert response.status_code == 200, response.text
    assert (response.json()["from_version"], response.json()["to_version"]) == (1, 2)
    assert set(asyncio.run(_versions(kit.gw.v1, name, [f"u{i}" for i in range(100)]))) == {f"{name}@2"}


def test_rollback_ends_a_canary_at_once(kit: PromptKit) -> None:
    name = _canaried(kit, percent=50)
    users = [f"r{i}" for i in range(60)]
    assert len(set(asyncio.run(_versions(kit.gw.v1, name, users)))) == 2
    response = kit.admin.post(f"/admin/prompts/{name}/rollback", json={"actor": "tester"})
    assert response.status_code == 200 and response.json()["action"] == "prompt.canary_end"
    # The very next requests, with no wait: the admin API answers after this replica's cache reloaded.
    assert set(asyncio.run(_versions(kit.gw.v1, name, users))) == {f"{name}@1"}


def test_compare_reports_each_variant_from_the_request_log(kit: PromptKit) -> None:
    name = _canaried(kit, percent=50)
    served = Counter(asyncio.run(_versions(kit.gw.v1, name, [f"c{i}" for i in range(40)])))

    def logged() -> dict[str, Any]:
        response = kit.admin.get(f"/admin/prompts/{name}/compare")
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        assert sum(v["requests"] for v in report["variants"]) == 40  # the log writer has flushed them all
        return report

    report = eventually(logged)
    assert (report["main_version"], report["canary_version"], report["canary_percent"]) == (1, 2, 50)
    counts = {v["version"]: (v["role"], v["requests"], v["errors"]) for v in report["variants"]}
    assert counts == {1: ("main", served[f"{name}@1"], 0), 2: ("canary", served[f"{name}@2"], 0)}
    assert all(v["latency_ms_mean"] > 0 for v in report["variants"])
    [test] = report["tests"]
    assert (test["version"], test["against"], test["significant"]) == (2, 1, False)
