"""Which caching applies to one request: the config's layers, then what the request itself asks.

The layers, broadest first, are ``gateway.cache`` itself, then its ``models``, ``teams``, ``keys`` and ``prompts``
entries for this request (a field an entry leaves out keeps the broader value). The request may then make the
cache stricter, never looser: ``cache: {no-cache, no-store, ttl, s-maxage, namespace}`` in the body (LiteLLM's
names), ``Cache-Control: no-cache | no-store | max-age=N``, and the force-refresh header. A shorter ``ttl`` is
taken, a longer one is cut to the policy's; nothing a request says turns a cache on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from gateway.config.models import CacheMode, CachePolicy, CacheSettings
from gateway.errors import RequestError
from gateway.pipeline.context import RequestContext

MAX_NAMESPACE = 255
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)")


@dataclass(frozen=True, slots=True)
class Policy:
    mode: CacheMode
    ttl: float
    threshold: float
    delta: float | None
    multi_turn: bool
    tool_calls: bool
    lookup: bool = True  # False: no-cache or a forced refresh
    store: bool = True  # False: no-store
    refresh: bool = False  # the force-refresh header (or no-cache): said as "refresh"
    max_age: float | None = None  # only entries younger than this many seconds are served
    namespace: str = ""  # the request's own partition (`cache.namespace`)


def base_policy(settings: CacheSettings, ctx: RequestContext) -> Policy:
    """The config's policy for this request's model, team, key and prompt (before the request's own controls)."""
    merged: dict[str, Any] = settings.model_dump(include=set(CachePolicy.model_fields))
    principal = ctx.principal
    layers = [
        settings.models.get(ctx.model),
        _first(settings.teams, principal.team_id, principal.team_name),
        _first(settings.keys, principal.key_id, principal.key_name),
        settings.prompts.get(ctx.prompt_name) if ctx.prompt_name else None,
    ]
    for layer in layers:
        if layer is not None:
            merged.update(layer.model_dump(exclude_none=True))
    return Policy(
        mode=merged["mode"] or "off",
        ttl=float(merged["ttl_seconds"] or 0.0),
        threshold=float(merged["threshold"] or 1.0),
        delta=merged["delta"],
        multi_turn=bool(merged["multi_turn"]),
        tool_calls=bool(merged["tool_calls"]),
    )


def with_controls(policy: Policy, controls: Any, ctx: RequestContext) -> Policy:
    """``policy`` made stricter by the body's ``cache`` object and the request's headers."""
    options = _controls(controls)
    header = (ctx.cache_control or "").lower()
    lookup = policy.lookup and not options.get("no-cache") and "no-cache" not in header and not ctx.cache_refresh
    store = policy.store and not options.get("no-store") and "no-store" not in header
    asked = _seconds(options, "ttl")
    ttl = policy.ttl if asked is None else min(policy.ttl, asked)
    store = store and ttl > 0
    ages = [age for age in (_seconds(options, "s-maxage"), _header_age(header)) if age is not None]
    namespace = options.get("namespace", "")
    if not isinstance(namespace, str) or len(namespace) > MAX_NAMESPACE:
        raise RequestError(f"`cache.namespace` must be a string of at most {MAX_NAMESPACE} characters.",
                           param="cache.namespace")
    return replace(policy, lookup=lookup, store=store, refresh=not lookup, ttl=ttl,
                   max_age=min(ages) if ages else None, namespace=namespace)


def _first(table: dict[str, CachePolicy], *names: str | None) -> CachePolicy | None:
    for name in names:
        if name is not None and name in table:
            return table[name]
    return None


def _controls(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError("`cache` must be an object, like {\"no-cache\": true}.", param="cache")
    known = {"no-cache", "no-store", "ttl", "s-maxage", "namespace"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise RequestError(f"`cache.{unknown[0]}` is not a cache control; use {sorted(known)}.",
                           param=f"cache.{unknown[0]}")
    for flag in ("no-cache", "no-store"):
        if not isinstance(value.get(flag, False), bool):
            raise RequestError(f"`cache.{flag}` must be a boolean.", param=f"cache.{flag}")
    return value


def _seconds(options: dict[str, Any], name: str) -> float | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RequestError(f"`cache.{name}` must be a number of seconds, 0 or more.", param=f"cache.{name}")
    return float(value)


def _header_age(header: str) -> float | None:
    match = _MAX_AGE.search(header)
    return float(match.group(1)) if match else None
