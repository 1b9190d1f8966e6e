"""Build the router from the config: one Deployment, with its provider, per ``model_list`` entry.

A wildcard entry (``model_name: "anthropic/*"`` or ``"*"``) becomes a router ``Wildcard``: a requested name it
matches gets deployments made from the entry with the ``*`` of ``litellm_params.model`` filled in, as LiteLLM
does (``anthropic/*`` serves ``anthropic/claude-3-5-haiku`` as that model). A bare ``model: "*"`` leaves the
provider to litellm, which infers it from the name. ``litellm_params`` keys that are request fields (temperature,
max_tokens...) become the deployment's defaults (``Deployment.defaults``); the other extras go to litellm.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import aiohttp

from gateway.config.models import GatewayConfig, ModelEntry
from gateway.costs.prices import PriceMap
from gateway.providers.anthropic_count import AnthropicTokenCount
from gateway.providers.fields import REQUEST_DEFAULTS
from gateway.providers.registry import THROUGH_LITELLM, ProviderEntry, Upstream, provider_for
from gateway.providers.responses_bridge import ResponsesOverChat
from gateway.routing.deployment import Deployment, Prices
from gateway.routing.router import RetryPolicy, Router, TagFiltering, Wildcard
from gateway.routing.strategies import STRATEGIES

if TYPE_CHECKING:
    from gateway.providers.litellm_provider import LiteLLMLoader

logger = logging.getLogger("gateway.routing")


def needs_litellm(config: GatewayConfig) -> bool:
    """Whether a deployment is served through litellm, which must then be imported at start-up."""
    return any(_entry(model).uses_litellm or _infers_provider(model) for model in config.model_list)


def build_router(
    config: GatewayConfig,
    session: aiohttp.ClientSession,
    litellm: LiteLLMLoader | None,
    environ: Mapping[str, str] | None = None,
) -> Router:
    env = os.environ if environ is None else environ
    groups: dict[str, list[Deployment]] = {}
    patterns: dict[str, list[tuple[int, ModelEntry]]] = {}
    for index, entry in enumerate(config.model_list):
        if entry.is_wildcard:
            patterns.setdefault(entry.model_name, []).append((index, entry))
            continue
        deployment = _deployment(config, entry, index, session, litellm, env)
        groups.setdefault(entry.model_name, []).append(deployment)

    def make(entries: list[tuple[int, ModelEntry]]) -> Callable[[str, re.Match[str]], list[Deployment]]:
        def deployments(name: str, match: re.Match[str]) -> list[Deployment]:
            return [
                _deployment(config, _concrete(entry, name, match), index, session, litellm, env, wildcard=entry)
                for index, entry in entries
            ]

        return deployments

    prices = PriceMap.load() if any(_listable(name) for name in patterns) else None
    wildcards = [
        Wildcard(
            _pattern(name), make(entries), len(name.replace("*", "")), _listed(name, entries, prices),
            limited=any(_limits(entry) != (None, None) for _, entry in entries),
        )
        for name, entries in patterns.items()
    ]
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
        wildcards=wildcards,
        tag_filtering=(
            TagFiltering(router_settings.tag_filtering_match_any) if router_settings.enable_tag_filtering else None
        ),
    )


def _pattern(model_name: str) -> re.Pattern[str]:
    return re.compile("(.*)".join(re.escape(part) for part in model_name.split("*")))


def _concrete(entry: ModelEntry, name: str, match: re.Match[str]) -> ModelEntry:
    """The entry for one requested name: its ``*``s in ``litellm_params.model`` filled with what they matched."""
    model = entry.litellm_params.model
    for captured in match.groups():
        model = model.replace("*", captured, 1)
    params = entry.litellm_params.model_copy(update={"model": model})
    return entry.model_copy(update={"model_name": name, "litellm_params": params})


def _infers_provider(entry: ModelEntry) -> bool:
    """``model: "*"``: the requested name goes to litellm as it is, and litellm picks the provider."""
    return entry.is_wildcard and entry.litellm_params.model == "*"


def _listable(model_name: str) -> bool:
    prefix, sep, rest = model_name.partition("/")
    return bool(sep) and rest == "*" and "*" not in prefix


def _listed(model_name: str, entries: list[tuple[int, ModelEntry]], prices: PriceMap | None) -> tuple[str, ...]:
    """For ``provider/*`` served as ``provider/*``: the price map's models of that provider, as requestable names."""
    if prices is None or not _listable(model_name):
        return ()
    prefix = model_name.partition("/")[0]
    if not all(entry.litellm_params.model == model_name for _, entry in entries):
        return ()
    return tuple(f"{prefix}/{name}" for name in prices.names(prefix))


def _split(entry: ModelEntry) -> tuple[str, str]:
    return entry.litellm_params.provider_and_name()


def _entry(model: ModelEntry, wildcard: ModelEntry | None = None) -> ProviderEntry:
    """The provider table's entry for this deployment (``gateway.providers.registry``)."""
    if wildcard is not None and _infers_provider(wildcard) and "/" not in model.litellm_params.model:
        return THROUGH_LITELLM
    return provider_for(_split(model)[0], model.litellm_params.api_base)


def _deployment(
    config: GatewayConfig,
    entry: ModelEntry,
    index: int,
    session: aiohttp.ClientSession,
    litellm: LiteLLMLoader | None,
    env: Mapping[str, str],
    wildcard: ModelEntry | None = None,
) -> Deployment:
    """``wildcard``: the pattern entry this concrete one was made from."""
    params = entry.litellm_params
    provider_name, upstream_model = _split(entry)
    deployment_id = entry.model_info.id or f"{(wildcard or entry).model_name}#{index}"
    if wildcard is not None:
        deployment_id += f":{entry.model_name}"
    label = f"deployment {deployment_id} ({params.model})"
    kind = _entry(entry, wildcard)
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
        rpm=_limits(entry)[0],
        tpm=_limits(entry)[1],
        tags=tuple(params.tags or ()),
        defaults={k: v for k, v in config.extra_provider_params(entry).items() if k in REQUEST_DEFAULTS},
        count_tokens=_token_count(entry, provider_name, label, session, env),
        prices=Prices(
            input_cost_per_token=_first_set(params.input_cost_per_token, entry.model_info.input_cost_per_token),
            output_cost_per_token=_first_set(params.output_cost_per_token, entry.model_info.output_cost_per_token),
            cache_read_input_token_cost=params.cache_read_input_token_cost,
            cache_creation_input_token_cost=params.cache_creation_input_token_cost,
            base_model=entry.model_info.base_model,
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


def _limits(entry: ModelEntry) -> tuple[int | None, int | None]:
    """RPM and TPM: ``litellm_params``' first, else the entry's top level (LiteLLM reads both)."""
    params = entry.litellm_params
    return (
        params.rpm if params.rpm is not None else entry.rpm,
        params.tpm if params.tpm is not None else entry.tpm,
    )


def _first_set(*prices: float | None) -> float | None:
    """The first configured price; 0 is a real price (a free local model), not "unset"."""
    return next((price for price in prices if price is not None), None)


def _upstream(
    config: GatewayConfig,
    entry: ModelEntry,
    kind: ProviderEntry,
    label: str,
    session: aiohttp.ClientSession,
    litellm: LiteLLMLoader | None,
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
        extra_params={k: v for k, v in config.extra_provider_params(entry).items() if k not in REQUEST_DEFAULTS},
        drop_params=config.litellm_settings.drop_params,
    )
