"""RPM and TPM per key and per team, through two gateway processes sharing Redis, with the OpenAI SDK."""

from __future__ import annotations

from support.limits import Pair, burst, call


async def test_rpm_per_key_holds_under_concurrent_load(pair: Pair) -> None:
    key = pair.admin.create_key(rpm=5)
    outcomes = await burst([pair.a.v1], key, 20, model="gpt-4o-mini")
    assert sorted(o.status for o in outcomes) == [200] * 5 + [429] * 15


async def test_rpm_holds_across_two_gateways_sharing_redis(pair: Pair) -> None:
    key = pair.admin.create_key(rpm=5)
    outcomes = await burst([pair.a.v1, pair.b.v1], key, 20, model="gpt-4o-mini")
    assert sum(o.status == 200 for o in outcomes) == 5
    assert {o.status for o in outcomes} == {200, 429}


async def test_team_rpm_is_shared_by_its_keys(pair: Pair) -> None:
    team = pair.admin.create_team(rpm=3)
    first, second = pair.admin.create_key(team=team["id"]), pair.admin.create_key(team=team["id"])
    outcomes = await burst([pair.a.v1], first, 4, "gpt-4o-mini") + await burst([pair.b.v1], second, 4, "gpt-4o-mini")
    assert sum(o.status == 200 for o in outcomes) == 3
    refused = next(o for o in outcomes if o.status == 429)
    assert refused.error is not None and f"team '{team['name']}'" in refused.error["message"]


async def test_rate_limit_error_names_the_limit_and_when_it_resets(pair: Pair) -> None:
    key = pair.admin.create_key(name="one-a-minute", rpm=1)
    assert (await call(pair.a.v1, key, "gpt-4o-mini")).status == 200
    refused = await call(pair.b.v1, key, "gpt-4o-mini")
    assert refused.status == 429 and refused.error is not None
    assert refused.error["type"] == "rate_limit_error" and refused.error["code"] == "rate_limit_exceeded"
    message = refused.error["message"]
    assert "key 'one-a-minute'" in message and "requests per minute (RPM)" in message and "Limit 1" in message
    assert "Please try again in" in message
    assert 55 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit-requests"] == "1"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


async def test_successful_responses_carry_openai_rate_limit_headers(pair: Pair) -> None:
    key = pair.admin.create_key(rpm=10, tpm=10_000)
    first = await call(pair.a.v1, key, "gpt-4o-mini")
    second = await call(pair.b.v1, key, "gpt-4o-mini")
    assert first.headers["x-ratelimit-limit-requests"] == "10"
    assert first.headers["x-ratelimit-remaining-requests"] == "9"
    assert second.headers["x-ratelimit-remaining-requests"] == "8"  # one bucket across both gateways
    assert first.headers["x-ratelimit-reset-requests"] == "6s"  # one request back every 6 s
    assert first.headers["x-ratelimit-limit-tokens"] == "10000"
    assert 9_900 < int(first.headers["x-ratelimit-remaining-tokens"]) < 10_000
    assert first.headers["x-ratelimit-reset-tokens"].endswith("ms")


async def test_tpm_stops_a_key_that_used_its_tokens(pair: Pair) -> None:
    # Each call really uses 4 prompt + 2 completion tokens (the fake counts words); the estimate reserves more.
    key = pair.admin.create_key(name="few-tokens", tpm=20)
    statuses = [(await call(pair.a.v1, key, "gpt-4o-mini")).status for _ in range(6)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429
    refused = await call(pair.b.v1, key, "gpt-4o-mini")
    assert refused.status == 429 and refused.error is not None
    assert "tokens per minute (TPM)" in refused.error["message"]
    assert refused.headers["x-ratelimit-limit-tokens"] == "20"
