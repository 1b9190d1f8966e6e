"""Prices per token, from litellm's bundled price map, read offline and without importing litellm.

Contract:

* ``PriceMap.load()`` finds ``model_prices_and_context_window_backup.json`` inside the installed litellm package
  (``importlib.util.find_spec`` only locates it: importing litellm takes seconds and ~100 MB) and keeps only the
  price fields, so the parsed map is small. Call it once at start-up, off the event loop. An entry becomes a
  ``ModelPrice`` the first time it is looked up: a gateway prices a handful of the map's thousands of models.
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
import json
import logging
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import orjson

from gateway.costs.model_price import RATE_FIELDS, TIERED_FIELD, ModelPrice, Rates, tiers_in
from gateway.routing.deployment import Deployment, Prices

PRICE_FILE = "model_prices_and_context_window_backup.json"
logger = logging.getLogger("gateway.costs")

# litellm names some providers' entries differently from the provider prefix people write in configs.
_FAMILY_ALIASES = {"bedrock_converse": "bedrock", "cohere_chat": "cohere", "azure_text": "azure"}
#: The fields of an entry its price is made of (besides the ``*_above_<N>k_tokens`` tiers); load drops the rest.
_PRICE_FIELDS = frozenset({"litellm_provider", "tiered_pricing", "max_output_tokens", *RATE_FIELDS.values()})


@dataclass(frozen=True, slots=True)
class _Entry:
    price: ModelPrice
    provider: str


class PriceMap:
    """The price fields of litellm's map, keyed by model name as litellm spells it."""

    def __init__(self, specs: dict[str, dict[str, Any]]) -> None:
        self._specs = specs  # name -> the entry's price fields; made a ModelPrice when first looked up
        self._entries: dict[str, _Entry | None] = {}  # None: the entry has no token price

    def __len__(self) -> int:
        """The entries that have a price field (an entry without a token price among them is never found)."""
        return len(self._specs)

    @classmethod
    def load(cls, path: Path | None = None) -> PriceMap:
        """Read the map from ``path`` or from the installed litellm package; an empty map if neither exists."""
        path = path or bundled_price_file()
        if path is None or not path.is_file():
            logger.warning("litellm's price map was not found; every model is unpriced unless the config prices it")
            return cls({})
        # The whole file parses to ~9 MB of objects, of which the price fields are a tenth. They are written out
        # and read back once the rest is freed, so that they do not pin the freed memory (~3 MB less resident).
        # The stdlib parser here: orjson keeps the keys it parsed in a cache, which would pin it just the same.
        raw = json.loads(path.read_bytes())
        slim = orjson.dumps(price_fields(raw if isinstance(raw, dict) else {}))
        del raw
        return cls(orjson.loads(slim))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PriceMap:
        return cls(price_fields(raw))

    def get(self, name: str) -> ModelPrice | None:
        """The entry named exactly ``name`` (``azure/gpt-4o``)."""
        entry = self._entry(name)
        return entry.price if entry is not None else None

    def names(self, provider: str) -> list[str]:
        """The models of one provider family, without a ``provider/`` prefix (what a ``provider/*`` serves)."""
        family = _family(provider)
        return sorted({
            name.removeprefix(f"{provider}/") for name, spec in self._specs.items()
            if _family(_provider(spec)) == family and "/" not in name.removeprefix(f"{provider}/")
            and self._entry(name) is not None
        })

    def lookup(self, provider: str, model: str) -> ModelPrice | None:
        entry = self._entry(f"{provider}/{model}")
        if entry is not None:
            return entry.price
        entry = self._entry(model)
        if entry is not None and (not entry.provider or _family(entry.provider) == _family(provider)):
            return entry.price
        return None

    def _entry(self, name: str) -> _Entry | None:
        """The entry named ``name`` with a token price, built on first use; None for no entry or no price."""
        if name in self._entries:
            return self._entries[name]
        spec = self._specs.get(name)
        entry = None
        if spec is not None:
            provider = _provider(spec)
            price = _entry_price(name, spec, provider)
            if price.input is not None or price.output is not None:
                entry = _Entry(price, provider)
        self._entries[name] = entry
        return entry


def price_fields(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The map's entries that have a price field, each reduced to its price fields."""
    specs: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        if name == "sample_spec" or not isinstance(spec, dict):
            continue
        kept = {key: value for key, value in spec.items() if _is_price_field(key)}
        if kept.keys() - {"litellm_provider", "max_output_tokens"}:
            specs[name] = kept
    return specs


def _is_price_field(key: str) -> bool:
    return key in _PRICE_FIELDS or ("_above_" in key and TIERED_FIELD.match(key) is not None)


def _provider(spec: dict[str, Any]) -> str:
    return str(spec.get("litellm_provider") or "")


class DeploymentPrices:
    """The price of each deployment: the map's entry with the deployment's overrides from the config."""

    def __init__(self, prices: PriceMap) -> None:
        self._map = prices
        self._resolved: dict[tuple[object, ...], ModelPrice | None] = {}

    @classmethod
    async def load(cls) -> DeploymentPrices:
        """Load litellm's map (tens of ms of parsing) off the event loop."""
        prices = await asyncio.to_thread(PriceMap.load)
        logger.debug("price map: %d models with prices", len(prices))
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
