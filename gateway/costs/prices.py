"""Prices per token, from litellm's bundled price map, read offline and without importing litellm.

Contract:

* ``PriceMap.load()`` finds ``model_prices_and_context_window_backup.json`` inside the installed litellm package
  (``importlib.util.find_spec`` only locates it: importing litellm takes seconds and ~100 MB) and keeps only the
  price fields, so the parsed map is small. Call it once at start-up, off the event loop.
* ``PriceMap.lookup(provider, model)`` tries ``provider/model`` first, then ``model`` as litellm does; the bare name
  only counts when the entry belongs to the same provider family (``gpt-4o-mini`` is an ``openai`` price, not a
  price for a vLLM server that happens to serve a model of that name).
* ``resolve(prices, deployment_prices)``: per-deployment overrides from the config win, field by field (see its
  docstring for the cache prices a config input price implies, and why configured prices have no tiers).
* ``DeploymentPrices.price(deployment)`` is ``resolve`` for one deployment, worked out once, looked up under
  ``model_info.base_model`` when the config names one. It is built before the stages and shared by them
  (``StageParts.prices``): the cost stage prices with it, the limits stage estimates.
* ``ModelPrice.cost(usage)`` (``gateway.costs.model_price``) is USD for the usage, or ``None`` when a price the usage
  needs is unknown: an unknown price is never a silent 0.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import orjson

from gateway.costs.model_price import ModelPrice, Rates, tiers_in
from gateway.routing.deployment import Deployment, Prices

PRICE_FILE = "model_prices_and_context_window_backup.json"
logger = logging.getLogger("gateway.costs")

# litellm names some providers' entries differently from the provider prefix people write in configs.
_FAMILY_ALIASES = {"bedrock_converse": "bedrock", "cohere_chat": "cohere", "azure_text": "azure"}


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
            provider = str(spec.get("litellm_provider") or "")
            price = _entry_price(name, spec, provider)
            if price.input is not None or price.output is not None:
                entries[name] = _Entry(price, provider)
        return cls(entries)

    def get(self, name: str) -> ModelPrice | None:
        """The entry named exactly ``name`` (``azure/gpt-4o``)."""
        entry = self._entries.get(name)
        return entry.price if entry is not None else None

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
        key = (deployment.id, deployment.provider_name, deployment.upstream_model, *astuple(prices))
        if key not in self._resolved:
            self._resolved[key] = resolve(self._found(deployment), prices)
        return self._resolved[key]

    def _found(self, deployment: Deployment) -> ModelPrice | None:
        """The map's entry: ``model_info.base_model`` when the config names one (how LiteLLM prices an Azure
        deployment called ``my-gpt-4o-prod``), else the deployment's own model."""
        base = deployment.prices.base_model
        if base is None:
            return self._map.lookup(deployment.provider_name, deployment.upstream_model)
        found = self._map.get(base) or self._map.lookup(deployment.provider_name, base)
        if found is None:
            logger.warning(
                "model_info.base_model %r of deployment %s is not in litellm's price map; its requests are "
                "unpriced unless input_cost_per_token and output_cost_per_token are set",
                base,
                deployment.id,
            )
        return found


def resolve(found: ModelPrice | None, overrides: Prices) -> ModelPrice | None:
    """The map's price with the config's overrides applied; ``None`` when neither gives an input price.

    A deployment the config prices is priced flat, as litellm prices custom prices: the map's tiers are for the
    map's prices. A config input price without a cache price of its own scales the map's cache prices by the same
    factor, so a negotiated discount never makes cached tokens dearer than uncached ones.
    """
    base = found or ModelPrice(None, None)
    if not _any_override(overrides):
        return base if base.known else None
    input_price = _first(overrides.input_cost_per_token, base.input)
    scale = _ratio(input_price, base.input)
    write_price = _first(overrides.cache_creation_input_token_cost, _scaled(base.cache_write, scale))
    rates = Rates(
        input=input_price,
        output=_first(overrides.output_cost_per_token, base.output),
        cache_read=_first(overrides.cache_read_input_token_cost, _scaled(base.cache_read, scale)),
        cache_write=write_price,
        cache_write_1h=_scaled(base.cache_write_1h, _ratio(write_price, base.cache_write)),
        reasoning=_first(overrides.output_cost_per_token, base.reasoning) if base.reasoning is not None else None,
    )
    price = base.with_rates(rates, tiers=(), source="config")
    return price if price.known else None


def bundled_price_file() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / PRICE_FILE


def _family(provider: str) -> str:
    name = provider.removeprefix("text-completion-").split("-", 1)[0]
    return _FAMILY_ALIASES.get(name, name)


def _entry_price(name: str, spec: dict[str, Any], provider: str) -> ModelPrice:
    rates = Rates.from_spec(spec)
    tiers = tiers_in(spec, provider)
    if rates.input is None and tiers and tiers[0].above == 0:
        rates = tiers[0].rates.over(rates)  # a ranged table from 0 prices every request; it is the base price
    max_output = spec.get("max_output_tokens")
    return ModelPrice(None, None, tiers=tiers, source=name).with_rates(
        rates, max_output_tokens=max_output if isinstance(max_output, int) and max_output > 0 else None
    )


def _ratio(price: float | None, base: float | None) -> float | None:
    if price is None or base is None or base == 0:
        return None
    return price / base


def _scaled(price: float | None, factor: float | None) -> float | None:
    return None if price is None or factor is None else price * factor


def _first(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def _any_override(overrides: Prices) -> bool:
    return any(
        value is not None
        for value in (
            overrides.input_cost_per_token,
            overrides.output_cost_per_token,
            overrides.cache_read_input_token_cost,
            overrides.cache_creation_input_token_cost,
        )
    )
