"""Prices per token, from litellm's bundled price map, read offline and without importing litellm.

Contract:

* ``PriceMap.load()`` finds ``model_prices_and_context_window_backup.json`` inside the installed litellm package
  (``importlib.util.find_spec`` only locates it: importing litellm takes seconds and ~100 MB) and keeps only the
  price fields, so the parsed map is small. Call it once at start-up, off the event loop.
* ``PriceMap.lookup(provider, model)`` tries ``provider/model`` first, then ``model`` as litellm does; the bare name
  only counts when the entry belongs to the same provider family (``gpt-4o-mini`` is an ``openai`` price, not a
  price for a vLLM server that happens to serve a model of that name).
* ``resolve(prices, deployment_prices)``: per-deployment overrides from the config win, field by field.
* ``DeploymentPrices.price(deployment)`` is ``resolve`` for one deployment, worked out once. It is built before the
  stages and shared by them (``StageParts.prices``): the cost stage prices with it, the limits stage estimates.
* ``ModelPrice.cost(usage)`` is USD for the usage, or ``None`` when a price the usage needs is unknown: an unknown
  price is never a silent 0. Cached input tokens are priced at the cache-read price, reasoning tokens at the
  reasoning price; both fall back to the plain input / output price when the map has none. OpenAI counts cached
  tokens inside ``prompt_tokens`` and reasoning tokens inside ``completion_tokens``, and so does litellm.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from gateway.pipeline.usage import Usage
from gateway.routing.deployment import Deployment, Prices

PRICE_FILE = "model_prices_and_context_window_backup.json"
logger = logging.getLogger("gateway.costs")

# litellm names some providers' entries differently from the provider prefix people write in configs.
_FAMILY_ALIASES = {"bedrock_converse": "bedrock", "cohere_chat": "cohere", "azure_text": "azure"}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per token. ``None`` means unknown; ``source`` says where the price came from (for logs)."""

    input: float | None
    output: float | None
    cache_read: float | None = None
    reasoning: float | None = None
    source: str = ""

    def cost(self, usage: Usage) -> float | None:
        prompt = max(usage.prompt_tokens, 0)
        completion = max(usage.completion_tokens, 0)
        cached = min(max(usage.cached_tokens, 0), prompt)
        reasoning = min(max(usage.reasoning_tokens, 0), completion)
        total = 0.0
        if prompt:
            if self.input is None:
                return None
            cache_price = self.cache_read if self.cache_read is not None else self.input
            total += (prompt - cached) * self.input + cached * cache_price
        if completion:
            if self.output is None:
                return None
            reasoning_price = self.reasoning if self.reasoning is not None else self.output
            total += (completion - reasoning) * self.output + reasoning * reasoning_price
        return total

    @property
    def known(self) -> bool:
        return self.input is not None


@dataclass(frozen=True, slots=True)
class _Entry:
    price: ModelPrice
    provider: str


class PriceMap:
    """The price fields of litellm's map, keyed by model name as litellm spells it."""

    def __init__(self, entries: dict[str, _Entry]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def load(cls, path: Path | None = None) -> PriceMap:
        """Read the map from ``path`` or from the installed litellm package; an empty map if neither exists."""
        path = path or bundled_price_file()
        if path is None or not path.is_file():
            logger.warning("litellm's price map was not found; every model is unpriced unless the config prices it")
            return cls({})
        raw = orjson.loads(path.read_bytes())
        return cls.from_dict(raw if isinstance(raw, dict) else {})

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PriceMap:
        entries: dict[str, _Entry] = {}
        for name, spec in raw.items():
            if name == "sample_spec" or not isinstance(spec, dict):
                continue
            price = ModelPrice(
                input=_number(spec.get("input_cost_per_token")),
                output=_number(spec.get("output_cost_per_token")),
                cache_read=_number(spec.get("cache_read_input_token_cost")),
                reasoning=_number(spec.get("output_cost_per_reasoning_token")),
                source=name,
            )
            if price.input is not None or price.output is not None:
                entries[name] = _Entry(price, str(spec.get("litellm_provider") or ""))
        return cls(entries)

    def names(self, provider: str) -> list[str]:
        """The models of one provider family, without a ``provider/`` prefix (what a ``provider/*`` serves)."""
        family = _family(provider)
        return sorted({
            name.removeprefix(f"{provider}/") for name, entry in self._entries.items()
            if _family(entry.provider) == family and "/" not in name.removeprefix(f"{provider}/")
        })

    def lookup(self, provider: str, model: str) -> ModelPrice | None:
        entry = self._entries.get(f"{provider}/{model}")
        if entry is not None:
            return entry.price
        entry = self._entries.get(model)
        if entry is not None and (not entry.provider or _family(entry.provider) == _family(provider)):
            return entry.price
        return None


class DeploymentPrices:
    """The price of each deployment: the map's entry with the deployment's overrides from the config."""

    def __init__(self, prices: PriceMap) -> None:
        self._map = prices
        self._resolved: dict[tuple[object, ...], ModelPrice | None] = {}

    @classmethod
    async def load(cls) -> DeploymentPrices:
        """Load litellm's map (tens of ms of parsing) off the event loop."""
        prices = await asyncio.to_thread(PriceMap.load)
        logger.debug("price map: %d priced models", len(prices))
        return cls(prices)

    def price(self, deployment: Deployment) -> ModelPrice | None:
        prices = deployment.prices
        key = (
            deployment.id,
            deployment.provider_name,
            deployment.upstream_model,
            prices.input_cost_per_token,
            prices.output_cost_per_token,
            prices.cache_read_input_token_cost,
        )
        if key not in self._resolved:
            found = self._map.lookup(deployment.provider_name, deployment.upstream_model)
            self._resolved[key] = resolve(found, prices)
        return self._resolved[key]


def resolve(found: ModelPrice | None, overrides: Prices) -> ModelPrice | None:
    """The map's price with the config's overrides applied; ``None`` when neither gives an input price."""
    base = found or ModelPrice(None, None)
    price = ModelPrice(
        input=_first(overrides.input_cost_per_token, base.input),
        output=_first(overrides.output_cost_per_token, base.output),
        cache_read=_first(overrides.cache_read_input_token_cost, base.cache_read),
        reasoning=base.reasoning,
        source="config" if _any_override(overrides) else base.source,
    )
    return price if price.known else None


def bundled_price_file() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / PRICE_FILE


def _family(provider: str) -> str:
    name = provider.removeprefix("text-completion-").split("-", 1)[0]
    return _FAMILY_ALIASES.get(name, name)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _first(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def _any_override(overrides: Prices) -> bool:
    return any(
        value is not None
        for value in (
            overrides.input_cost_per_token,
            overrides.output_cost_per_token,
            overrides.cache_read_input_token_cost,
        )
    )
