"""How many tokens and how many dollars a request can use, worked out before the call, cheaply.

Tokens (for TPM): the JSON of the prompt part of the body over 4, plus ``max_completion_tokens`` / ``max_tokens``
times ``n`` when given, else the running mean this model has produced (256 until one is known).

Cost (for budgets) is an upper bound, so that requests admitted together can never spend more than their
reservations: the prompt counted as one token per byte of its JSON (every token of a byte-level BPE tokenizer
covers at least one byte of text, and the JSON's punctuation pays for the per-message tokens), the output as its
``max_tokens`` times ``n``, else the model's ``max_output_tokens`` from the price map; each at the dearest price
of its kind (cache writes can cost more than plain input, reasoning more than output; the highest price tier the
prompt could reach) over every deployment the request may end on, fallbacks included. ``Estimate.bounded`` says
whether that held; it does not when the price map has no ``max_output_tokens`` for a model and the request set no
limit (then the running mean output is used), nor for images given by URL, whose tokens are not in the body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson

from gateway.costs.model_price import ModelPrice
from gateway.pipeline.context import RequestContext
from gateway.routing.deployment import Deployment

#: The price of a deployment (the cost stage's ``price``), or None when unknown.
PriceLookup = Callable[[Deployment], ModelPrice | None]
DEFAULT_OUTPUT_TOKENS = 256
_ALPHA = 0.2
_PROMPT_FIELDS = {
    "chat": ("messages", "tools"),
    "completions": ("prompt",),
    "embeddings": ("input",),
    "responses": ("input", "instructions", "tools"),
}


@dataclass(slots=True)
class Estimate:
    prompt_tokens: int
    output_tokens: int
    cost_usd: float | None
    bounded: bool = False  # cost_usd is at least the real cost

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


@dataclass(slots=True)
class _Learned:
    output_tokens: float | None = None
    cost_per_token: float | None = None


@dataclass(slots=True)
class Estimator:
    #: Every deployment a request for a model may end on (``Router.reachable``).
    deployments: Callable[[str], Iterable[Deployment]]
    prices: PriceLookup
    known_models: frozenset[str] = frozenset()
    _learned: dict[str, _Learned] = field(default_factory=dict)

    def estimate(self, ctx: RequestContext) -> Estimate:
        prompt_bytes = _prompt_bytes(ctx)
        limit = _output_limit(ctx)
        output = self._mean_output(ctx) if limit is None else limit
        estimate = Estimate(prompt_bytes // 4 + 1, output, None)
        self._bound_cost(ctx, prompt_bytes + 1, limit, estimate)
        return estimate

    def unpriced(self, model: str) -> list[Deployment]:
        """The deployments a request for ``model`` may end on that have no known price."""
        return [deployment for deployment in self.deployments(model) if self.prices(deployment) is None]

    def learn(self, ctx: RequestContext, estimate: Estimate) -> None:
        """Remember what a finished request really used (only for configured models: memory stays bounded)."""
        if ctx.usage is None or ctx.model not in self.known_models or ctx.endpoint == "embeddings":
            return
        learned = self._learned.setdefault(ctx.model, _Learned())
        learned.output_tokens = _ewma(learned.output_tokens, ctx.usage.completion_tokens)
        if ctx.cost_usd is not None and estimate.tokens > 0:
            learned.cost_per_token = _ewma(learned.cost_per_token, ctx.cost_usd / estimate.tokens)

    def _bound_cost(self, ctx: RequestContext, prompt: int, limit: int | None, estimate: Estimate) -> None:
        costs: list[float] = []
        bounded = True
        for deployment in self.deployments(ctx.model):
            price = self.prices(deployment)
            if price is None:
                continue
            output = limit
            if output is None and ctx.endpoint != "embeddings" and price.max_output_tokens is not None:
                output = price.max_output_tokens * _choices(ctx)
            if output is None:
                output, bounded = estimate.output_tokens, ctx.endpoint == "embeddings"
            costs.append(price.most(prompt, output))
        if costs:
            estimate.cost_usd, estimate.bounded = max(costs), bounded
            return
        learned = self._learned.get(ctx.model)
        if learned is not None and learned.cost_per_token is not None:
            estimate.cost_usd = learned.cost_per_token * estimate.tokens

    def _mean_output(self, ctx: RequestContext) -> int:
        if ctx.endpoint == "embeddings":
            return 0
        learned = self._learned.get(ctx.model)
        mean = learned.output_tokens if learned and learned.output_tokens is not None else DEFAULT_OUTPUT_TOKENS
        return max(1, round(mean)) * _choices(ctx)


def _output_limit(ctx: RequestContext) -> int | None:
    """The most output tokens the request allows itself (0 for embeddings), or None when it sets no limit."""
    if ctx.endpoint == "embeddings":
        return 0
    body = ctx.body  # chat's and completions' names, and the Responses API's
    limit = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return limit * _choices(ctx)
    return None


def _choices(ctx: RequestContext) -> int:
    n = ctx.body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def _prompt_bytes(ctx: RequestContext) -> int:
    size = 0
    for name in _PROMPT_FIELDS.get(ctx.endpoint, ()):
        value = ctx.body.get(name)
        if value is not None:
            size += len(value.encode()) if isinstance(value, str) else len(orjson.dumps(value))
    return size


def _ewma(previous: float | None, value: float) -> float:
    return value if previous is None else previous + _ALPHA * (value - previous)
