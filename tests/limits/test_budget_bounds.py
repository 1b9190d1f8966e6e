"""A budget's overshoot bound: never more than one request over, whatever the answers' length, and never bypassed
by a model without a price."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.limits import Pair, burst, call
from support.servers import FakeProvider

#: What the fake reports for every "long-answers" call: far more output than the estimator's default guess.
LONG = {"prompt_tokens": 1000, "completion_tokens": 8000}
#: gpt-4o-mini-2024-07-18's map prices: $0.15 / $0.60 per million tokens.
LONG_CALL = 1000 * 1.5e-7 + 8000 * 6e-7


@pytest.fixture
def long_answers(own_fake: FakeProvider) -> Iterator[None]:
    own_fake.script_usage("gpt-4o-mini-2024-07-18", LONG)
    yield
    own_fake.clear_usage()


@pytest.mark.usefixtures("long_answers")
async def test_parallel_requests_without_max_tokens_overshoot_by_at_most_one_request(pair: Pair) -> None:
    budget = 10 * LONG_CALL
    key = pair.admin.create_key(budget_usd=budget)
    outcomes = await burst([pair.a.v1, pair.b.v1], key, 100, model="long-answers", max_tokens=None)
    spent = sum(float(o.headers["x-gateway-cost-usd"]) for o in outcomes if o.status == 200)
    assert {o.status for o in outcomes} <= {200, 429}
    # Each request reserved its prompt and the model's max_output_tokens (16,384) at the dearest price: at least
    # its real cost. Only the last request of a budget, running alone, may take less than that and pass it.
    assert spent <= budget + LONG_CALL * (1 + 1e-9)
    while (await call(pair.b.v1, key, "long-answers", max_tokens=None)).status == 200:
        spent += LONG_CALL
    assert budget * (1 - 1e-9) <= spent <= budget + LONG_CALL * (1 + 1e-9)


async def test_a_budgeted_key_is_refused_a_model_without_a_price(pair: Pair) -> None:
    key = pair.admin.create_key(name="budgeted", budget_usd=0.0001)
    refused = await call(pair.a.v1, key, model="backup")
    assert refused.status == 403 and refused.error is not None
    error = refused.error
    assert error["code"] == "model_unpriced" and error["param"] == "model"
    assert "`backup`" in error["message"] and "openai/backup-model" in error["message"]
    assert "gateway.budget_unpriced_models: allow" in error["message"]
    unlimited = pair.admin.create_key(name="no-budget")
    assert (await call(pair.a.v1, unlimited, model="backup")).status == 200
