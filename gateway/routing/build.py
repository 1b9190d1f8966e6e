"""Build the router from the config: one Deployment, with its provider, per ``model_list`` entry."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from types import ModuleType

import aiohttp

from gateway.config.models import GatewayConfig, ModelEntry
from gateway.providers.anthropic_count import AnthropicTokenCount
from gateway.providers.registry import ProviderEntry, Upstream, provider_for
from gateway.providers.responses_bridge import ResponsesOverChat
from gateway.routing.deployment import Deployment, Prices
from gateway.routing.router import RetryPolicy, Router
from gateway.routing.strategies import STRATEGIES

logger = logging.getLogger("gateway.routing")


def needs_litellm(config: GatewayConfig) -> bool:
    """Whether a deployment is served through litellm, which must then be imported at start-up."""
    return any(_entry(model).uses_litellm for model in config.model_list)


def build_router(
    config: GatewayConfig,
    session: aiohttp.ClientSession,
    litellm: ModuleType | None,
    environ: Mapping[str, str] | None = None,
) -> Router:
    env = os.environ if environ is None else environ
    groups: dict[str, list[Deployment]] = {}
    for index, entry in enumerate(config.model_list):
        deployment = _deployment(config, entry, index, session, litellm, env)
        groups.setdefault(entry.model_name, []).append(deployment)
    router_settings = config.router_settings
    gateway = config.gateway
    policy = RetryPolicy(
        num_retries=router_settings.num_retries,
        backoff_base=gateway.retry_backoff_base,
        backoff_max=gateway.retry_backoff_max,
        min_wait=router_settings.retry_after,
        max_retry_after=gateway.max_retry_after,
        allowed_fails=router_settings.allowed_fails,
        cooldown=router_settings.cooldown_time,
    )
    return Router(
        groups,
        strategy=STRATEGIES[router_settings.strategy()],
        policy=policy,
        fallbacks=router_settings.fallback_map(),
        default_fallbacks=router_settings.default_fallbacks,
    )


def _split(entry: ModelEntry) -> tuple[str, str]:
    return entry.litellm_params.provider_and_name()


def _entry(model: ModelEntry) -> ProviderEntry:
    """The provider table's entry for this deployment (``gateway.providers.registry``)."""
    return provider_for(_split(model)[0], model.litellm_params.api_base)


def _deployment(
    config: GatewayConfig,
    entry: ModelEntry,
    index: int,
    session: aiohttp.ClientSession,
    litellm: ModuleType | None,
    env: Mapping[str, str],
) -> Deployment:
    params = entry.litellm_params
    provider_name, upstream_model = _split(entry)
    deployment_id = entry.model_info.id or f"{entry.model_name}#{index}"
    label = f"deployment {deployment_id} ({params.model})"
    kind = _entry(entry)
    provider = ResponsesOverChat(
        kind.factory(_upstream(config, entry, kind, label, session, litellm, env)), label,
        native=kind.speaks_responses,
    )
    timeout = params.timeout or config.litellm_settings.request_timeout or config.router_settings.timeout
    return Deployment(
        id=deployment_id,
        model_name=entry.model_name,
        provider_name=provider_name,
        upstream_model=upstream_model,
        provider=provider,
        fast_path=kind.fast_path,
        timeout=timeout,
        stream_timeout=params.stream_timeout or config.router_settings.stream_timeout or timeout,
        weight=params.weight,
        rpm=params.rpm,
        tpm=params.tpm,
        count_tokens=_token_count(entry, provider_name, label, session, env),
        prices=Prices(
            input_cost_per_token=_first_set(params.input_cost_per_token, entry.model_info.input_cost_per_token),
            output_cost_per_token=_first_set(params.output_cost_per_token, entry.model_info.output_cost_per_token),
            cache_read_input_token_cost=params.cache_read_input_token_cost,
        ),
    )


def _token_count(
    entry: ModelEntry, provider_name: str, label: str, session: aiohttp.ClientSession, env: Mapping[str, str]
) -> AnthropicTokenCount | None:
    """Anthropic's count endpoint for an ``anthropic/`` deployment (``/v1/messages/count_tokens``)."""
    if provider_name != "anthropic":
        return None
    params = entry.litellm_params
    api_key = params.api_key.get_secret_value() if params.api_key else env.get("ANTHROPIC_API_KEY")
    return AnthropicTokenCount(session, params.api_base, api_key, label)


def _first_set(*prices: float | None) -> float | None:
    """The first configured price; 0 is a real price (a free local model), not "unset"."""
    return next((price for price in prices if price is not None), None)


def _upstream(
    config: GatewayConfig,
    entry: ModelEntry,
    kind: ProviderEntry,
    label: str,
    session: aiohttp.ClientSession,
    litellm: ModuleType | None,
    env: Mapping[str, str],
) -> Upstream:
    params = entry.litellm_params
    api_key = params.api_key.get_secret_value() if params.api_key else None
    if api_key is None and kind.key_env is not None:
        api_key = env.get(kind.key_env)
    return Upstream(
        model=params.model,
        label=label,
        session=session,
        litellm=litellm,
        base_url=kind.base_url(params.api_base),
        api_key=api_key,
        api_base=params.api_base,
        api_version=params.api_version,
        organization=params.organization,
        extra_headers=params.extra_headers,
        extra_params=config.extra_provider_params(entry),
        drop_params=config.litellm_settings.drop_params,
    )
