"""The cost stage: prices every request once it has ended.

Contract (``after`` only; ``before`` does nothing):

* A request answered by an upstream is priced from the provider's usage with the deployment's price (config
  overrides, else litellm's map). ``ctx.cost_usd`` gets the USD figure and, for non-streamed answers, the response
  carries ``x-gateway-cost-usd`` (a stream's headers are gone before its usage arrives: its cost is in the log).
* No usage from the provider: tokens are counted with tiktoken (request messages, response text; for a stream
  whose text was not kept, one token per chunk) and the record is marked ``tokens_estimated``.
* A model with no known price: ``cost_usd`` stays ``None`` and a warning is logged once per model.
* A cache hit costs 0; what it would have cost goes to ``cache_savings_usd``.
* A request that never reached a provider (blocked, limited, unknown model, every attempt failed) costs 0.
* A request whose client left while the upstream had it, before any of its answer came back
  (``ctx.upstream_cancelled``: a non-streamed request, or a stream before its first chunk), is billed by the
  provider all the same: its prompt is counted with tiktoken, its output is the most it could have been (the
  request's ``max_tokens``, else the model's ``max_output_tokens``), and it is marked ``tokens_estimated``.

It runs last in the stage list, so its ``after`` runs first: limits and budgets see the cost.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any, Self

import orjson

from gateway.costs.prices import DeploymentPrices
from gateway.costs.tokens import TokenCounter
from gateway.pipeline.context import RequestContext
from gateway.pipeline.stages import StageParts, StreamFilter
from gateway.pipeline.usage import Usage
from gateway.routing.deployment import Deployment
from gateway.routing.router import Router

COST_HEADER = "x-gateway-cost-usd"
logger = logging.getLogger("gateway.costs")


class CostStage:
    name = "cost"

    def __init__(self, prices: DeploymentPrices, router: Router, tokens: TokenCounter | None = None) -> None:
        self._prices = prices
        self._router = router
        self._tokens = tokens or TokenCounter()
        self._warned: set[str] = set()

    @classmethod
    async def start(cls, parts: StageParts) -> Self:
        """The price map was loaded before the stages (``parts.prices``): the limits stage estimates with it too."""
        return cls(parts.prices, parts.router)

    async def before(self, ctx: RequestContext) -> bytes | None:
        return None

    async def answer(self, ctx: RequestContext, body: bytes) -> bytes:
        return body

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        return None

    async def after(self, ctx: RequestContext) -> None:
        if ctx.cache_status in ("hit", "semantic-hit"):
            ctx.cost_usd = 0.0
            ctx.cache_savings_usd = self._would_have_cost(ctx)
        elif ctx.deployment is None:
            ctx.cost_usd = 0.0
        else:
            if ctx.usage is None and (_may_have_used_tokens(ctx) or ctx.upstream_cancelled):
                ctx.usage = await asyncio.to_thread(self._estimate, ctx, ctx.deployment)
                ctx.tokens_estimated = True
            ctx.cost_usd = self._cost(ctx.deployment, ctx.usage) if ctx.usage is not None else 0.0
        if ctx.cost_usd is not None and not ctx.stream:
            ctx.response_headers[COST_HEADER] = format_usd(ctx.cost_usd)

    async def aclose(self) -> None:
        return None

    def _cost(self, deployment: Deployment, usage: Usage) -> float | None:
        price = self._prices.price(deployment)
        cost = price.cost(usage) if price is not None else None
        if cost is None:
            self._warn_unpriced(deployment)
        return cost

    def _would_have_cost(self, ctx: RequestContext) -> float | None:
        deployment = ctx.deployment or next(iter(self._router.deployments(ctx.model)), None)
        usage = ctx.usage or _usage_in(ctx.response_body)
        if deployment is None or usage is None:
            return None
        return self._cost(deployment, usage)

    def _warn_unpriced(self, deployment: Deployment) -> None:
        model = f"{deployment.provider_name}/{deployment.upstream_model}"
        if model in self._warned:
            return
        self._warned.add(model)
        logger.warning(
            "no price known for %s (deployment %s): its requests are logged with cost null. Set "
            "input_cost_per_token and output_cost_per_token in its litellm_params to price it.",
            model,
            deployment.id,
        )

    def _estimate(self, ctx: RequestContext, deployment: Deployment) -> Usage:
        """Runs in a worker thread: tiktoken's first load and the encoding are CPU work."""
        model = deployment.upstream_model
        prompt = self._tokens.prompt_tokens(model, ctx.endpoint, ctx.body)
        if ctx.endpoint == "embeddings":
            return Usage(prompt_tokens=prompt)
        if ctx.upstream_cancelled:
            return Usage(prompt_tokens=prompt, completion_tokens=self._output_bound(ctx, deployment))
        return Usage(prompt_tokens=prompt, completion_tokens=self._completion_tokens(ctx, model))

    def _output_bound(self, ctx: RequestContext, deployment: Deployment) -> int:
        """The most output the upstream can bill for a request whose answer nobody saw: the request's own limit,
        else the model's ``max_output_tokens``, for each of its ``n`` choices."""
        body = ctx.body
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            price = self._prices.price(deployment)
            limit = price.max_output_tokens if price is not None else None
        n = body.get("n")
        choices = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
        return (limit or 0) * choices

    def _completion_tokens(self, ctx: RequestContext, model: str) -> int:
        if ctx.response_text is not None:
            return self._tokens.text_tokens(model, "".join(ctx.response_text))
        if ctx.response_body is not None:
            return self._tokens.text_tokens(model, _answer_text(ctx.response_body))
        # Most providers send one token per content chunk; the role and finish chunks carry none.
        return max(ctx.stream_chunks - 2, 0)


def format_usd(value: float) -> str:
    """Dollars to 15 significant digits (all a float holds exactly; more shows the sum's binary noise, as in
    0.000017999999999999997), never in exponent notation and never rounded to 0: a few tokens of a cheap embedding
    model cost less than $1e-12, which a fixed 12 decimals showed as 0.0."""
    text = format(Decimal(f"{value:.15g}"), "f")
    return text if "." in text else text + ".0"


def _may_have_used_tokens(ctx: RequestContext) -> bool:
    """The provider answered (fully, or partly before a cut or a disconnect), so it will bill something."""
    return ctx.status < 400 or ctx.first_token_at is not None


def _usage_in(body: bytes | None) -> Usage | None:
    if body is None:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return Usage.from_openai(parsed.get("usage")) if isinstance(parsed, dict) else None


def _answer_text(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    choices = parsed.get("choices") if isinstance(parsed, dict) else None
    parts: list[str] = []
    for choice in choices if isinstance(choices, list) else ():
        if isinstance(choice, dict):
            parts += _choice_text(choice)
    return "".join(parts)


def _choice_text(choice: dict[str, Any]) -> list[str]:
    message = choice.get("message")
    if not isinstance(message, dict):
        text = choice.get("text")  # legacy completions
        return [text] if isinstance(text, str) else []
    parts = [message["content"]] if isinstance(message.get("content"), str) else []
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts.append(str(function.get("name") or "") + str(function.get("arguments") or ""))
    return parts
