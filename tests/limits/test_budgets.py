"""USD budgets per key and team: reserved before the call, settled to the real cost (from the cost stage) after."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import openai
import orjson
from support.keyed import ONE_WORD
from support.limits import CALL_COST, Pair, burst, call


async def test_budget_of_ten_calls_lets_at_most_ten_of_a_hundred_parallel_requests_through(pair: Pair) -> None:
    key = pair.admin.create_key(budget_usd=10 * CALL_COST)
    outcomes = await burst([pair.a.v1, pair.b.v1], key, 100)
    admitted = sum(o.status == 200 for o in outcomes)
    # No tolerance needed here: each request's estimate (its prompt and max_tokens at the config's price) is at
    # least its real cost, and the last of a budget only goes to a request running alone.
    assert 1 <= admitted <= 10
    assert {o.status for o in outcomes} == {200, 429}
    # Whatever the burst left, calls one after the other use exactly the rest: 10 calls' worth in all.
    more = 0
    while (await call(pair.b.v1, key)).status == 200:
        more += 1
        assert admitted + more <= 10
    assert admitted + more == 10


async def test_budget_refusal_names_the_budget_and_when_it_resets(pair: Pair) -> None:
    key = pair.admin.create_key(name="two-calls", budget_usd=2 * CALL_COST, budget_period="daily")
    assert [(await call(pair.a.v1, key)).status for _ in range(2)] == [200, 200]
    refused = await call(pair.b.v1, key)
    assert refused.status == 429 and refused.error is not None
    assert refused.error["code"] == "budget_exceeded" and refused.error["type"] == "rate_limit_error"
    message = refused.error["message"]
    assert "Budget exceeded for key 'two-calls'" in message and "daily budget of $0.016" in message
    tomorrow = datetime.now(UTC).date().toordinal() + 1
    resets = re.search(r"resets at (\S+)Z", message)
    assert resets is not None and datetime.fromisoformat(resets.group(1)).date().toordinal() == tomorrow
    seconds_left = (datetime.fromisoformat(resets.group(1)).replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert abs(int(refused.headers["retry-after"]) - seconds_left) < 5


async def test_team_budget_caps_all_its_keys_together(pair: Pair) -> None:
    team = pair.admin.create_team(budget_usd=3 * CALL_COST)
    first, second = pair.admin.create_key(team=team["name"]), pair.admin.create_key(team=team["name"])
    statuses = [(await call(url, key)).status for url, key in [(pair.a.v1, first), (pair.b.v1, second)] * 3]
    assert statuses == [200, 200, 200, 429, 429, 429]
    refused = await call(pair.a.v1, first)
    assert refused.error is not None and f"Budget exceeded for team '{team['name']}'" in refused.error["message"]


async def test_budget_header_shows_what_is_left(pair: Pair) -> None:
    key = pair.admin.create_key(budget_usd=1.0)
    outcome = await call(pair.a.v1, key)
    assert outcome.status == 200
    assert outcome.headers["x-gateway-cost-usd"] == "0.008"  # from the cost stage, with the config's prices
    # At response time the call's bound is reserved: at least its real cost, at most its max_tokens' worth and one
    # token per byte of its messages' JSON.
    reserved = 1.0 - float(outcome.headers["x-gateway-budget-remaining-usd"])
    assert CALL_COST <= reserved <= (len(orjson.dumps(ONE_WORD)) + 1) * 0.001 + 2 * 0.002 + 1e-9
    after = await call(pair.b.v1, key)  # the first call is settled at its real cost; this one is reserved
    assert float(after.headers["x-gateway-budget-remaining-usd"]) == round(1.0 - CALL_COST - reserved, 6)


async def test_streamed_calls_are_charged_their_real_cost(pair: Pair) -> None:
    # Charged at the estimate (0.013 each) only two calls would fit in three calls' worth; at the real cost, three.
    key = pair.admin.create_key(budget_usd=3 * CALL_COST, rpm=100)
    client = openai.AsyncOpenAI(base_url=pair.a.v1, api_key=key, max_retries=0)
    statuses = []
    for _ in range(4):
        try:
            async with client.chat.completions.with_streaming_response.create(
                model="priced", messages=ONE_WORD, max_tokens=2, stream=True  # type: ignore[arg-type]
            ) as response:
                assert response.headers["x-ratelimit-limit-requests"] == "100"
                text = "".join([c.choices[0].delta.content or "" async for c in await response.parse() if c.choices])
                assert text == "Echo: hello"
                statuses.append(200)
        except openai.RateLimitError as exc:
            assert "Budget exceeded" in exc.message
            statuses.append(429)
    await client.close()
    assert statuses == [200, 200, 200, 429]
