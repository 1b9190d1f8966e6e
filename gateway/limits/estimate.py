"""How many tokens and how many dollars a request will probably use, worked out before the call, cheaply.

Prompt tokens: the JSON of the prompt part of the body, over 4 (JSON's punctuation makes this lean high, which
is the safe side for a reservation). Output tokens: ``max_completion_tokens`` / ``max_tokens`` times ``n`` when
given, else the running mean this model has produced (256 until one is known). Cost: those tokens at the
highest price among the model's deployments (the router has not picked one yet); with no price known, the
running mean cost per estimated token this model has shown, else ``None`` (nothing to reserve).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from gateway.pipeline.context import RequestContext
from gateway.routing.deployment import Deployment


class TokenPrice(Protocol):
    """USD per token (``gateway.costs.prices.ModelPrice`` is one); ``None`` means unknown."""

    @property
    def input(self) -> float | None: ...

    @property
    def output(self) -> float | None: ...


#: The price of a deployment (the cost stage's ``price``), or None when unknown.
PriceLookup = Callable[[Deployment], TokenPrice | None]
DEFAULT_OUTPUT_TOKENS = 256
_ALPHA = 0.2
_PROMPT_FIELDS = {
    "chat": ("messages", "tools"),
    "completions": ("prompt",),
    "embeddings": ("input",),
    "responses": ("input", "instructions", "tools"),
}


@dataclass(frozen=True, slots=True)
class _Price:
    input: float | None
    output: float | None


def config_prices(deployment: Deployment) -> TokenPrice | None:
    """Only the prices written in the config (``input_cost_per_token`` / ``output_cost_per_token``)."""
    prices = deployment.prices
    if prices.input_cost_per_token is None and prices.output_cost_per_token is None:
        return None
    return _Price(prices.input_cost_per_token, prices.output_cost_per_token)


@dataclass(slots=True)
class Estimate:
    prompt_tokens: int
    output_tokens: int
    cost_usd: float | None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


@dataclass(slots=True)
class _Learned:
    output_tokens: float | None = None
    cost_per_token: float | None = None


@dataclass(slots=True)
class Estimator:
    deployments: Callable[[str], Iterable[Deployment]]
    prices: PriceLookup = config_prices
    known_models: frozenset[str] = frozenset()
    _learned: dict[str, _Learned] = field(default_factory=dict)

    def estimate(self, ctx: RequestContext) -> Estimate:
        prompt = _prompt_tokens(ctx)
        output = self._output_tokens(ctx)
        return Estimate(prompt, output, self._cost(ctx.model, prompt, output))

    def learn(self, ctx: RequestContext, estimate: Estimate) -> None:
        """Remember what a finished request really used (only for configured models: memory stays bounded)."""
        if ctx.usage is None or ctx.model not in self.known_models or ctx.endpoint == "embeddings":
            return
        learned = self._learned.setdefault(ctx.model, _Learned())
        learned.output_tokens = _ewma(learned.output_tokens, ctx.usage.completion_tokens)
        if ctx.cost_usd is not None and estimate.tokens > 0:
            learned.cost_per_token = _ewma(learned.cost_per_token, ctx.cost_usd / estimate.tokens)

    def _output_tokens(self, ctx: RequestContext) -> int:
        if ctx.endpoint == "embeddings":
            return 0
        body = ctx.body
        limit = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
        n = body.get("n")
        choices = n if isinstance(n, int) and n > 0 else 1
        if isinstance(limit, int) and limit > 0:
            return limit * choices
        learned = self._learned.get(ctx.model)
        mean = learned.output_tokens if learned and learned.output_tokens is not None else DEFAULT_OUTPUT_TOKENS
        return max(1, round(mean)) * choices

    def _cost(self, model: str, prompt: int, output: int) -> float | None:
        costs = [
            prompt * (price.input or 0.0) + output * (price.output or 0.0)
            for deployment in self.deployments(model)
            if (price := self.prices(deployment)) is not None and price.input is not None
        ]
        if costs:
            return max(costs)
        learned = self._learned.get(model)
        if learned is not None and learned.cost_per_token is not None:
            return learned.cost_per_token * (prompt + output)
        return None


def _prompt_tokens(ctx: RequestContext) -> int:
    size = 0
    for name in _PROMPT_FIELDS.get(ctx.endpoint, ()):
        value = ctx.body.get(name)
        if value is not None:
            size += len(value) if isinstance(value, str) else len(orjson.dumps(value))
    return size // 4 + 1


def _ewma(previous: float | None, value: float) -> float:
    return value if previous is None else previous + _ALPHA * (value - previous)
