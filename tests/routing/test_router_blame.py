"""Unit tests of the router: only upstream faults cool a deployment down, and fallbacks respect the caller's
models (issue 8, defects 3 and 5)."""

from __future__ import annotations

import random

import pytest

from gateway.errors import ClientTimeout, ProviderAdapterError, UpstreamBadRequest, UpstreamError, UpstreamTimeout
from gateway.routing.deployment import Deployment
from gateway.routing.router import RetryPolicy, Router
from gateway.routing.strategies import weighted_shuffle


def dep(name: str, model: str) -> Deployment:
    return Deployment(
        id=name,
        model_name=model,
        provider_name="openai",
        upstream_model=name,
        provider=None,  # type: ignore[arg-type]
        fast_path=True,
        timeout=1,
        stream_timeout=1,
    )


async def no_sleep(seconds: float) -> None:
    return None


def router(**fallbacks: list[str]) -> Router:
    groups = {name: [dep(name, name)] for name in ("m", "backup", "other")}
    return Router(
        groups,
        strategy=weighted_shuffle,
        policy=RetryPolicy(num_retries=1, allowed_fails=1, cooldown=60),
        fallbacks=fallbacks,
        rng=random.Random(1),
        sleep=no_sleep,
    )


@pytest.mark.parametrize(
    "error",
    [ClientTimeout("client's own timeout"), UpstreamBadRequest("bad"), ProviderAdapterError("adapter bug")],
)
async def test_what_the_client_or_the_adapter_caused_never_cools_down(error: UpstreamError) -> None:
    r = router()

    async def fail(deployment: Deployment) -> str:
        raise error

    for _ in range(3):
        with pytest.raises(type(error)):
            await r.call("m", fail)
    assert r.deployments("m")[0].available(0.0) and r.deployments("m")[0].cooldown_until == 0


async def test_a_clients_own_timeout_is_still_retried() -> None:
    r = router()
    calls: list[str] = []

    async def fail(deployment: Deployment) -> str:
        calls.append(deployment.id)
        raise ClientTimeout("short")

    with pytest.raises(ClientTimeout):
        await r.call("m", fail)
    assert len(calls) == 2, "x-gateway-timeout is per attempt"


async def test_an_upstream_timeout_cools_down() -> None:
    r = router()

    async def fail(deployment: Deployment) -> str:
        raise UpstreamTimeout("slow")

    with pytest.raises(UpstreamTimeout):
        await r.call("m", fail)
    assert r.deployments("m")[0].cooldown_until > 0


async def test_fallbacks_the_caller_may_not_use_are_skipped() -> None:
    r = router(m=["other", "backup"])
    tried: list[str] = []

    async def answer(deployment: Deployment) -> str:
        tried.append(deployment.id)
        if deployment.id == "m":
            raise UpstreamError("down")
        return deployment.id

    result, _ = await r.call("m", answer, lambda name: name in {"m", "backup"})
    assert result == "backup" and "other" not in tried


async def test_without_an_allowed_fallback_the_original_error_is_raised() -> None:
    r = router(m=["backup"])

    async def answer(deployment: Deployment) -> str:
        if deployment.id == "m":
            raise UpstreamError("down")
        return deployment.id

    with pytest.raises(UpstreamError, match="down"):
        await r.call("m", answer, lambda name: name == "m")
