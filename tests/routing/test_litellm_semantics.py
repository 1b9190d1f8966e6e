"""LiteLLM's routing semantics in the gateway's router: wildcard names, tag routing, default request fields."""

from __future__ import annotations

import types
from typing import Any

import aiohttp
import pytest

from gateway.config.models import GatewayConfig, ModelEntry
from gateway.errors import RequestError, UnknownModel
from gateway.providers.fields import apply_defaults
from gateway.routing.build import build_router, needs_litellm
from gateway.routing.router import Router

#: litellm is only stored by the providers these tests build; nothing calls it.
LITELLM = types.ModuleType("litellm")


def entry(name: str, model: str, **params: Any) -> dict[str, Any]:
    return {"model_name": name, "litellm_params": {"model": model, "api_key": "k", **params}}


async def router(*entries: dict[str, Any], **router_settings: Any) -> Router:
    config = GatewayConfig(
        model_list=[ModelEntry.model_validate(e) for e in entries], router_settings=router_settings
    )
    async with aiohttp.ClientSession() as session:
        return build_router(config, session, LITELLM)


async def test_a_provider_wildcard_serves_any_name_of_that_provider_as_itself() -> None:
    routes = await router(entry("anthropic/*", "anthropic/*"), entry("gpt-4o", "openai/gpt-4o"))
    (deployment,) = routes.deployments("anthropic/claude-3-5-haiku-20241022")
    assert (deployment.provider_name, deployment.upstream_model) == ("anthropic", "claude-3-5-haiku-20241022")
    assert not deployment.fast_path
    with pytest.raises(UnknownModel):
        routes.require("groq/llama")


async def test_the_most_specific_pattern_wins_and_star_takes_the_rest() -> None:
    routes = await router(entry("*", "openai/*"), entry("groq/*", "groq/*"))
    assert routes.deployments("groq/llama-3.1-8b")[0].provider_name == "groq"
    catch_all = routes.deployments("gpt-4o-mini")[0]
    assert (catch_all.provider_name, catch_all.upstream_model, catch_all.fast_path) == ("openai", "gpt-4o-mini", True)


async def test_models_list_concrete_names_never_a_pattern() -> None:
    routes = await router(entry("*", "openai/*"), entry("anthropic/*", "anthropic/*"), entry("a", "openai/a"))
    names = routes.model_names
    assert "*" not in names and "anthropic/*" not in names
    assert names[0] == "a"
    assert "anthropic/claude-haiku-4-5" in names  # from the price map, for the provider wildcard


def test_a_bare_star_model_needs_litellm_to_infer_the_provider() -> None:
    config = GatewayConfig(model_list=[ModelEntry.model_validate(entry("*", "*"))])
    assert needs_litellm(config)


async def test_tags_choose_deployments_and_default_takes_the_rest() -> None:
    routes = await router(
        entry("gpt", "openai/free", tags=["free"]),
        entry("gpt", "openai/paid", tags=["paid"]),
        entry("gpt", "openai/std", tags=["default"]),
        enable_tag_filtering=True,
    )

    async def upstream_model(tags: list[str]) -> str:
        async def call(deployment: Any) -> str:
            return str(deployment.upstream_model)

        return (await routes.call("gpt", call, tags=tags))[0]

    assert await upstream_model(["paid"]) == "paid"
    assert await upstream_model(["free", "other"]) == "free"
    assert await upstream_model(["unknown"]) == "std"
    assert await upstream_model([]) == "std"


async def test_a_tag_no_deployment_has_and_no_default_is_refused() -> None:
    routes = await router(entry("gpt", "openai/paid", tags=["paid"]), enable_tag_filtering=True)

    async def call(deployment: Any) -> str:
        return "never"

    with pytest.raises(RequestError) as caught:
        await routes.call("gpt", call, tags=["free"])
    assert caught.value.param == "tags"


async def test_request_fields_in_litellm_params_become_defaults_and_top_level_rpm_counts() -> None:
    routes = await router({**entry("a", "openai/a", temperature=0.1, max_tokens=20, aws_region_name="x"), "rpm": 7})
    (deployment,) = routes.deployments("a")
    assert deployment.defaults == {"temperature": 0.1, "max_tokens": 20}
    assert deployment.rpm == 7


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        ("chat", {"messages": []}, {"messages": [], "temperature": 0.1, "max_tokens": 20}),
        ("chat", {"temperature": 0.9, "max_completion_tokens": 5}, {"temperature": 0.9, "max_completion_tokens": 5}),
        ("responses", {"input": "x"}, {"input": "x", "temperature": 0.1, "max_output_tokens": 20}),
        ("embeddings", {"input": "x"}, {"input": "x"}),
    ],
)
def test_defaults_fill_only_what_the_request_leaves_out(
    endpoint: Any, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    apply_defaults(body, endpoint, {"temperature": 0.1, "max_tokens": 20})
    assert body == expected


async def test_a_wildcards_limits_count_for_the_router_before_any_name_is_made() -> None:
    routes = await router(entry("groq/*", "groq/*", rpm=5))
    assert routes.has_deployment_limits
    assert routes.deployments("groq/llama")[0].rpm == 5
