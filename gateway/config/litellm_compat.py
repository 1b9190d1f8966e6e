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
