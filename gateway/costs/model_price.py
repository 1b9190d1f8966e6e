"""One model's prices per token, and what a request's usage costs at them.

Contract (litellm's ``completion_cost`` is the reference; ``tests/costs/test_price_matrix.py`` compares):

* ``Rates`` are USD per token for the token kinds a usage reports: plain input, cache reads, cache writes (5-minute
  and 1-hour lifetimes), output and reasoning output. ``None`` is unknown, never 0.
* ``Tier``: the map's ``*_above_<N>k_tokens`` prices. When the request's prompt (cached and cache-written tokens
  included, as providers count it) is above ``N`` tokens, every price the tier names replaces the base one, for the
  whole request (not only the tokens above ``N``). Several thresholds apply in ascending order. litellm's ranged
  ``tiered_pricing`` tables become tiers too (a range's lower bound is its threshold).
* ``ModelPrice.cost(usage)``: ``text * input + cached * cache-read + 5-minute writes * cache-write + 1-hour writes
  * 1-hour write + (completion - reasoning) * output + reasoning * reasoning``, where ``text`` is the prompt minus
  cached and written tokens. A cache-read or cache-write price the map does not have is the input price, a 1-hour
  write price it does not have is the 5-minute one, a reasoning price it does not have is the output price; an
  unknown input price (or output price, when there is output) makes the cost ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

from gateway.pipeline.usage import Usage

#: The map's field for each rate.
RATE_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "reasoning": "output_cost_per_reasoning_token",
}
#: ``<field>_above_<N>[k]_tokens``; suffixed variants (``_priority``, ``_flex``, ``_batches``) are other service
#: tiers, which the gateway does not request, so they do not match.
TIERED_FIELD = re.compile(r"^(?P<field>[a-z_]+?)_above_(?P<n>\d+(?:\.\d+)?)(?P<k>k?)_tokens$")
_TIERED_RATES = ("input", "output", "cache_read", "cache_write", "cache_write_1h")


@dataclass(frozen=True, slots=True)
class Rates:
    input: float | None = None
    output: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None
    reasoning: float | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Rates:
        return cls(**{name: _number(spec.get(key)) for name, key in RATE_FIELDS.items()})

    def over(self, base: Rates) -> Rates:
        """These rates where set, ``base``'s elsewhere."""
        return Rates(**{f.name: _first(getattr(self, f.name), getattr(base, f.name)) for f in fields(Rates)})


@dataclass(frozen=True, slots=True)
class Tier:
    """Prices for a request whose prompt is above ``above`` tokens (or at it, when ``inclusive``)."""

    above: int
    rates: Rates
    inclusive: bool = False

    def applies(self, prompt_tokens: int) -> bool:
        return prompt_tokens > self.above or (self.inclusive and prompt_tokens == self.above)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per token. ``None`` means unknown; ``source`` says where the price came from (for logs)."""

    input: float | None
    output: float | None
    cache_read: float | None = None
    reasoning: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None
    tiers: tuple[Tier, ...] = ()
    max_output_tokens: int | None = None
    source: str = ""

    @property
    def known(self) -> bool:
        return self.input is not None

    @property
    def rates(self) -> Rates:
        return Rates(self.input, self.output, self.cache_read, self.cache_write, self.cache_write_1h, self.reasoning)

    def with_rates(self, rates: Rates, **changes: Any) -> ModelPrice:
        values = {f.name: getattr(rates, f.name) for f in fields(Rates)}
        return replace(self, **values, **changes)

    def rates_for(self, prompt_tokens: int) -> Rates:
        rates = self.rates
        for tier in self.tiers:
            if tier.applies(prompt_tokens):
                rates = tier.rates.over(rates)
        return rates

    def cost(self, usage: Usage) -> float | None:
        prompt = max(usage.prompt_tokens, 0)
        completion = max(usage.completion_tokens, 0)
        rates = self.rates_for(prompt)
        total = 0.0
        if prompt:
            if rates.input is None:
                return None
            total += _input_cost(rates, rates.input, prompt, usage)
        if completion:
            if rates.output is None:
                return None
            reasoning = min(max(usage.reasoning_tokens, 0), completion)
            total += (completion - reasoning) * rates.output + reasoning * _or(rates.reasoning, rates.output)
        return total

    def most(self, prompt_tokens: int, output_tokens: int) -> float:
        """The most a request of up to these many tokens can cost: each token at the dearest price of its kind
        (input, cache read or cache write; output or reasoning) in any tier a prompt this long can reach."""
        rates = [self.rates, *(tier.rates for tier in self.tiers if tier.above < prompt_tokens)]
        prompt_price = max(
            (p for r in rates for p in (r.input, r.cache_read, r.cache_write, r.cache_write_1h) if p is not None),
            default=0.0,
        )
        output_price = max((p for r in rates for p in (r.output, r.reasoning) if p is not None), default=0.0)
        return prompt_tokens * prompt_price + output_tokens * output_price


def _input_cost(rates: Rates, input_price: float, prompt: int, usage: Usage) -> float:
    cached = min(max(usage.cached_tokens, 0), prompt)
    written = min(max(usage.cache_write_tokens, 0), prompt - cached)
    written_1h = min(max(usage.cache_write_1h_tokens, 0), written)
    write_price = _or(rates.cache_write, input_price)
    return (
        (prompt - cached - written) * input_price
        + cached * _or(rates.cache_read, input_price)
        + (written - written_1h) * write_price
        + written_1h * _or(rates.cache_write_1h, write_price)
    )


def tiers_in(spec: dict[str, Any], provider: str) -> tuple[Tier, ...]:
    """The tiers of one map entry: its ``*_above_<N>_tokens`` fields and its ranged ``tiered_pricing`` table."""
    inclusive = provider == "xai"  # xAI bills the higher tier from the threshold itself
    by_threshold: dict[int, dict[str, Any]] = {}
    names = {key: name for name, key in RATE_FIELDS.items() if name in _TIERED_RATES}
    for key, value in spec.items():
        match = TIERED_FIELD.match(key)
        if match is None or match["field"] not in names or _number(value) is None:
            continue
        threshold = int(float(match["n"]) * (1000 if match["k"] else 1))
        by_threshold.setdefault(threshold, {})[names[match["field"]]] = _number(value)
    tiers = [Tier(above, Rates(**rates), inclusive) for above, rates in by_threshold.items()]
    tiers += _ranged_tiers(spec.get("tiered_pricing"))
    return tuple(sorted(tiers, key=lambda tier: tier.above))


def _ranged_tiers(table: Any) -> list[Tier]:
    """A ranged table (``[{"range": [0, 256000], "input_cost_per_token": ...}, ...]``): each range's tier prices
    the whole request once the prompt is above its lower bound; a rate a range does not name is its input rate."""
    tiers: list[Tier] = []
    for row in table if isinstance(table, list) else ():
        bounds = row.get("range") if isinstance(row, dict) else None
        price = _number(row.get("input_cost_per_token")) if isinstance(row, dict) else None
        if not isinstance(bounds, list) or not bounds or _number(bounds[0]) is None or price is None:
            continue
        rates = Rates.from_spec(row)
        filled = replace(
            rates,
            cache_read=_first(rates.cache_read, price),
            cache_write=_first(rates.cache_write, price),
        )
        tiers.append(Tier(int(bounds[0]), filled))
    return tiers


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _first(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
