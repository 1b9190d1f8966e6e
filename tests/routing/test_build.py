"""Building deployments from the config."""

from __future__ import annotations

import aiohttp

from gateway.config.models import GatewayConfig, ModelEntry
from gateway.routing.build import build_router, needs_litellm


def config(**params: object) -> GatewayConfig:
    entry = {
        "model_name": "local",
        "litellm_params": {"model": "hosted_vllm/llama", "api_base": "http://x/v1", **params},
    }
    return GatewayConfig(model_list=[ModelEntry.model_validate(entry)])


async def test_a_configured_price_of_zero_is_a_price_not_unset() -> None:
    async with aiohttp.ClientSession() as session:
        router = build_router(config(input_cost_per_token=0, output_cost_per_token=0), session, None)
    prices = router.deployments("local")[0].prices
    assert prices.input_cost_per_token == 0.0 and prices.output_cost_per_token == 0.0


async def test_openai_compatible_prefixes_take_the_fast_path_without_litellm() -> None:
    assert not needs_litellm(config())
    async with aiohttp.ClientSession() as session:
        deployment = build_router(config(), session, None).deployments("local")[0]
    assert deployment.fast_path and deployment.upstream_model == "llama"


def test_other_providers_need_litellm() -> None:
    entry = ModelEntry.model_validate({"model_name": "c", "litellm_params": {"model": "anthropic/claude-x"}})
    assert needs_litellm(GatewayConfig(model_list=[entry]))
