"""Unit tests of the cost stage's decisions: estimates, cache hits, requests that never reached a provider."""

from __future__ import annotations

import logging
from typing import Any, cast

import orjson
import pytest

from gateway.costs.prices import DeploymentPrices, PriceMap
from gateway.costs.stage import COST_HEADER, CostStage, format_usd
from gateway.costs.tokens import TokenCounter
from gateway.errors import RateLimited
from gateway.pipeline.context import RequestContext
from gateway.pipeline.records import RequestRecord
from gateway.pipeline.usage import Usage
from gateway.routing.deployment import Deployment, Prices
from gateway.routing.router import Router

IN, OUT = 1e-6, 2e-6
PRICES = PriceMap.from_dict({"priced": {"litellm_provider": "openai", "input_cost_per_token": IN,
                                        "output_cost_per_token": OUT}})


class Routes:
    """The one method of the router the stage uses."""

    def __init__(self, deployments: list[Deployment]) -> None:
        self._deployments = deployments

    def deployments(self, model_name: str) -> list[Deployment]:
        return [d for d in self._deployments if d.model_name == model_name]


def deployment(upstream: str = "priced", prices: Prices | None = None) -> Deployment:
    return Deployment(id=f"{upstream}#0", model_name=upstream, provider_name="openai", upstream_model=upstream,
                      provider=cast(Any, None), fast_path=True, timeout=5, stream_timeout=5, prices=prices or Prices())


def context(stream: bool = False, **fields: Any) -> RequestContext:
    body = {"model": "priced", "messages": [{"role": "user", "content": "hello world"}]}
    ctx = RequestContext(request_id="req_1", endpoint="chat", body=body, model="priced", stream=stream)
    for name, value in fields.items():
        setattr(ctx, name, value)
    return ctx


@pytest.fixture
def stage() -> CostStage:
    return CostStage(DeploymentPrices(PRICES), cast(Router, Routes([deployment()])), TokenCounter())


async def test_reported_usage_is_priced_and_put_in_a_header(stage: CostStage) -> None:
    ctx = context(deployment=deployment(), usage=Usage(prompt_tokens=10, completion_tokens=4))
    await stage.after(ctx)
    assert ctx.cost_usd == pytest.approx(10 * IN + 4 * OUT)
    assert ctx.response_headers[COST_HEADER] == format_usd(10 * IN + 4 * OUT) == "0.000018"


async def test_without_usage_the_tokens_are_counted_and_marked_as_estimated(stage: CostStage) -> None:
    counter = TokenCounter()
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Echo: hello world"}}]}
    ctx = context(deployment=deployment())
    ctx.response_body = orjson.dumps(answer)
    await stage.after(ctx)
    prompt = counter.prompt_tokens("priced", "chat", ctx.body)
    completion = counter.text_tokens("priced", "Echo: hello world")
    assert ctx.usage == Usage(prompt_tokens=prompt, completion_tokens=completion)
    assert ctx.cost_usd == pytest.approx(prompt * IN + completion * OUT)
    assert RequestRecord.from_context(ctx).tokens_estimated is True


async def test_a_stream_without_usage_is_counted_from_its_collected_text(stage: CostStage) -> None:
    ctx = context(stream=True, deployment=deployment())
    ctx.response_text = ["Echo:", " hello", " world"]
    await stage.after(ctx)
    assert ctx.usage is not None and ctx.usage.completion_tokens == TokenCounter().text_tokens("x", "Echo: hello world")
    assert ctx.tokens_estimated is True
    assert COST_HEADER not in ctx.response_headers  # a stream's headers left long ago


async def test_a_cache_hit_costs_nothing_and_records_what_it_saved(stage: CostStage) -> None:
    ctx = context(cache_status="hit")
    ctx.response_body = orjson.dumps({"usage": {"prompt_tokens": 100, "completion_tokens": 50}})
    await stage.after(ctx)
    assert ctx.cost_usd == 0.0
    assert ctx.cache_savings_usd == pytest.approx(100 * IN + 50 * OUT)
    assert RequestRecord.from_context(ctx).cache_savings_usd == pytest.approx(100 * IN + 50 * OUT)


async def test_a_request_stopped_before_any_provider_costs_zero(stage: CostStage) -> None:
    ctx = context()
    ctx.fail(RateLimited("slow down"))
    await stage.after(ctx)
    assert ctx.cost_usd == 0.0 and ctx.usage is None


async def test_an_unpriced_model_gets_a_null_cost_and_a_single_warning(
    stage: CostStage, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = deployment("unknown-model")
    with caplog.at_level(logging.WARNING, logger="gateway.costs"):
        for _ in range(3):
            ctx = context(deployment=unknown, usage=Usage(prompt_tokens=5, completion_tokens=5))
            await stage.after(ctx)
            assert ctx.cost_usd is None and COST_HEADER not in ctx.response_headers
    assert [r.getMessage().startswith("no price known for openai/unknown-model") for r in caplog.records] == [True]


async def test_a_config_price_beats_the_map(stage: CostStage) -> None:
    own = deployment(prices=Prices(output_cost_per_token=1e-5))
    ctx = context(deployment=own, usage=Usage(prompt_tokens=10, completion_tokens=10))
    await stage.after(ctx)
    assert ctx.cost_usd == pytest.approx(10 * IN + 10 * 1e-5)


@pytest.mark.parametrize("value", [1.5e-13, 2e-08, 0.0123, 0.008, 0.1 + 0.2, 12345.678901234567, 0.0])
def test_the_cost_header_is_the_exact_cost_however_small(value: float) -> None:
    text = format_usd(value)
    assert float(text) == pytest.approx(value, rel=1e-14, abs=0) and "e" not in text.lower()  # before: "0.0"
    assert format_usd(1.5e-13) == "0.00000000000015"
