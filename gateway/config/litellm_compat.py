"""What the gateway does with LiteLLM settings it does not implement: the warning that names each one, and the
gateway's own equivalent where there is one.

``ignored_settings(data)`` lists the dotted keys of a parsed config that the gateway will not act on (whole
sections and unknown keys of the LiteLLM sections); the loader leaves their ``os.environ/`` references
unresolved, so a variable only they use is not required. ``advice(key)`` is the sentence a warning adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel

from gateway.config.models import ROUTING_ALIASES, GatewayConfig
from gateway.providers.fields import REQUEST_DEFAULTS
from gateway.providers.registry import provider_for

#: Top-level LiteLLM sections the gateway does not implement: accepted with a warning, never an error.
LITELLM_ONLY_SECTIONS: Final = frozenset(
    {
        "callback_settings",
        "guardrails",
        "credential_list",
        "mcp_servers",
        "mcp_tools",
        "vector_store_registry",
        "files_settings",
        "finetune_settings",
        "assistant_settings",
        "search_tools",
        "model_group_settings",
    }
)

#: Where the gateway's own equivalent of a LiteLLM setting is (keys without their section match any section).
EQUIVALENTS: Final[Mapping[str, str]] = {
    "cache": "the gateway's response cache (docs/caching.md)",
    "cache_params": "the gateway's response cache (docs/caching.md)",
    "success_callback": "the request log (docs/costs.md) and the gateway's telemetry",
    "failure_callback": "the request log (docs/costs.md) and the gateway's telemetry",
    "callbacks": "the request log (docs/costs.md) and the gateway's telemetry",
    "max_budget": "budgets on virtual keys and teams (docs/keys-and-limits.md)",
    "budget_duration": "budget periods on virtual keys and teams (docs/keys-and-limits.md)",
    "redis_host": "gateway.redis_url",
    "redis_port": "gateway.redis_url",
    "redis_password": "gateway.redis_url",
    "context_window_fallbacks": "router_settings.fallbacks",
    "content_policy_fallbacks": "router_settings.fallbacks",
    "guardrails": "the gateway's guardrails (docs/guardrails.md)",
    "store_model_in_db": "model_list in this file (the gateway reads models only from its config)",
    "database_connection_pool_limit": "general_settings.database_url (the pool is sized by the gateway)",
    "set_verbose": "gateway serve --log-level",
    "json_logs": "gateway serve's log format",
    "request_timeout": "router_settings.timeout",
}


def advice(key: str) -> str:
    """``; the gateway's equivalent: ...`` for a dotted key, or nothing when there is none."""
    name = key.rsplit(".", 1)[-1]
    equivalent = EQUIVALENTS.get(key) or EQUIVALENTS.get(name)
    return f"; the gateway's equivalent: {equivalent}" if equivalent else ""


def unused_provider_params(config: GatewayConfig) -> list[str]:
    """``litellm_params`` provider settings (``region_name``, ``vertex_project``...) of fast-path deployments: only
    litellm reads them, and a fast-path deployment does not go through litellm."""
    found: list[str] = []
    for index, entry in enumerate(config.model_list):
        provider = entry.litellm_params.provider_and_name()[0]
        if entry.litellm_params.model == "*" or not provider_for(provider, entry.litellm_params.api_base).fast_path:
            continue
        extras = config.extra_provider_params(entry)
        found += [f"model_list[{index}].litellm_params.{key}" for key in extras if key not in REQUEST_DEFAULTS]
    return found


def typed_but_unused(config: GatewayConfig) -> list[str]:
    """Settings the gateway reads but serves differently from LiteLLM, each with what it does instead."""
    notes: list[str] = []
    strategy = config.router_settings.routing_strategy
    if strategy in ROUTING_ALIASES:
        notes.append(f"router_settings.routing_strategy {strategy!r} is served as {ROUTING_ALIASES[strategy]!r}")
    if config.litellm_settings.num_retries is not None:
        notes.append("litellm_settings.num_retries is ignored; the gateway's equivalent: router_settings.num_retries")
    for index, entry in enumerate(config.model_list):
        params = entry.litellm_params
        if params.max_retries is not None:
            notes.append(f"model_list[{index}].litellm_params.max_retries is ignored; the gateway's equivalent: "
                         "router_settings.num_retries")
        for key in ("input_cost_per_second", "output_cost_per_second"):
            if getattr(params, key) is not None:
                notes.append(f"model_list[{index}].litellm_params.{key} is ignored; the gateway's equivalent: "
                             "input_cost_per_token / output_cost_per_token")
    return notes


def ignored_settings(data: Mapping[str, Any], sections: Mapping[str, type[BaseModel]]) -> list[tuple[str | int, ...]]:
    """Paths of the settings the gateway ignores: LiteLLM-only sections, unknown keys of the LiteLLM sections and
    of ``model_list`` entries (``sections`` maps a section's name to its model; ``model_list`` to the entry's)."""
    paths: list[tuple[str | int, ...]] = [(name,) for name in LITELLM_ONLY_SECTIONS if name in data]
    for section, model in sections.items():
        if section == "model_list":
            entries = data.get("model_list")
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                paths += [("model_list", index, key) for key in _unknown(entry, model)]
        else:
            paths += [(section, key) for key in _unknown(data.get(section), model)]
    return paths


def _unknown(value: Any, model: type[BaseModel]) -> list[str]:
    if not isinstance(value, dict):
        return []
    known = set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}
    return [str(key) for key in value if key not in known]
