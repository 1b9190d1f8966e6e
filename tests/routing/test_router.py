"""Unit tests of the router alone: a fake clock and scripted providers stand in for time and the network."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from gateway.errors import UnknownModel, UpstreamBadRequest, UpstreamError, UpstreamRateLimited, UpstreamUnavailable
from gateway.routing.deployment import Deployment
from gateway.routing.router import RetryPolicy, Router
from gateway.routing.strategies import least_busy, lowest_latency, weighted_shuffle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def dep(name: str, model: str = "m", weight: float = 1.0) -> Deployment:
    return Deployment(
        id=name,
        model_name=model,
        provider_name="openai",
        upstream_model=name,
        provider=None,  # type: ignore[arg-type]
        fast_path=True,
        timeout=1,
        stream_timeout=1,
        weight=weight,
    )


def make_router(groups: dict[str, list[Deployment]], clock: Clock, **policy: float) -> Router:
    return Router(
        groups,
        strategy=weighted_shuffle,
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        fallbacks={"m": ["backup"]} if "backup" in groups else {},
        rng=random.Random(1),
        clock=clock,
        sleep=clock.sleep,
    )


def scripted(outcomes: dict[str, list[Exception | str]]) -> Callable[[Deployment], object]:
    async def call(deployment: Deployment) -> str:
        outcome = outcomes[deployment.id].pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return call


async def test_retries_on_another_deployment_first() -> None:
    clock = Clock()
    router = make_router({"m": [dep("a"), dep("b")]}, clock, num_retries=1)
    outcomes: dict[str, list[Exception | str]] = {"a": [UpstreamError("boom")], "b": [UpstreamError("boom")]}
    outcomes["a"].append("ok-a")
    outcomes["b"].append("ok-b")
    with pytest.raises(UpstreamError):
        await router.call("m", scripted(outcomes))
    assert len(outcomes["a"]) == 1 and len(outcomes["b"]) == 1, "each deployment was tried once"


async def test_retry_after_is_honoured_and_capped() -> None:
    clock = Clock()
    router = make_router({"m": [dep("a")]}, clock, num_retries=2, max_retry_after=5)
    outcomes: dict[str, list[Exception | str]] = {
        "a": [UpstreamRateLimited("slow down", retry_after=2), UpstreamRateLimited("more", retry_after=99), "ok"]
    }
    result, attempted = await router.call("m", scripted(outcomes))
    assert result == "ok" and attempted.attempts == 3
    assert clock.slept == [2, 5]


async def test_backoff_grows_with_jitter_within_bounds() -> None:
    clock = Clock()
    router = make_router({"m": [dep("a")]}, clock, num_retries=3, backoff_base=1, backoff_max=3, allowed_fails=10)
    outcomes: dict[str, list[Exception | str]] = {"a": [UpstreamError("x")] * 3 + ["ok"]}
    await router.call("m", scripted(outcomes))
    first, second, third = clock.slept
    assert 0.5 <= first <= 1 and 1 <= second <= 2 and 1.5 <= third <= 3


async def test_bad_request_is_not_retried() -> None:
    clock = Clock()
    router = make_router({"m": [dep("a")]}, clock, num_retries=3)
    outcomes: dict[str, list[Exception | str]] = {"a": [UpstreamBadRequest("bad"), "ok"]}
    with pytest.raises(UpstreamBadRequest):
        await router.call("m", scripted(outcomes))
    assert clock.slept == []


async def test_cooldown_after_allowed_fails_then_recovery() -> None:
    clock = Clock()
    a = dep("a")
    router = make_router({"m": [a]}, clock, num_retries=0, allowed_fails=2, cooldown=30)
    outcomes: dict[str, list[Exception | str]] = {"a": [UpstreamError("x"), UpstreamError("x"), "ok"]}
    for _ in range(2):
        with pytest.raises(UpstreamError):
            await router.call("m", scripted(outcomes))
    with pytest.raises(UpstreamUnavailable) as caught:
        await router.call("m", scripted(outcomes))
    assert caught.value.headers["Retry-After"] == "30"
    clock.now += 31
    result, _ = await router.call("m", scripted(outcomes))
    assert result == "ok"


async def test_fallback_model_is_used_when_the_first_fails() -> None:
    clock = Clock()
    router = make_router({"m": [dep("a")], "backup": [dep("z", "backup")]}, clock, num_retries=0)
    result, attempted = await router.call("m", scripted({"a": [UpstreamError("x")], "z": ["ok-z"]}))
    assert result == "ok-z" and attempted.deployment.id == "z" and attempted.attempts == 2


async def test_unknown_model_is_refused() -> None:
    with pytest.raises(UnknownModel):
        await make_router({"m": [dep("a")]}, Clock()).call("other", scripted({}))


def test_weighted_shuffle_follows_weights() -> None:
    rng = random.Random(7)
    heavy, light = dep("heavy", weight=9), dep("light", weight=1)
    picks = [weighted_shuffle([heavy, light], rng).id for _ in range(2000)]
    assert 0.86 <= picks.count("heavy") / 2000 <= 0.94


def test_least_busy_picks_the_idle_deployment() -> None:
    busy, idle = dep("busy"), dep("idle")
    busy.in_flight = 3
    assert least_busy([busy, idle], random.Random(1)) is idle


def test_lowest_latency_tries_unmeasured_then_prefers_fast() -> None:
    fast, slow, new = dep("fast"), dep("slow"), dep("new")
    fast.latency_ewma, slow.latency_ewma = 0.1, 0.5
    assert lowest_latency([fast, slow, new], random.Random(1)) is new
    new.latency_ewma = 0.3
    assert lowest_latency([fast, slow, new], random.Random(1)) is fast
