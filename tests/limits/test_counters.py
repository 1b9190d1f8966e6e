"""The counter rules, held alike by the in-process counters and the Redis scripts (run on the real Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis
from support.throwaway import REDIS_URL, redis_prefix

from gateway.limits.counters import Check, Counters, LocalCounters, Settle
from gateway.limits.redis_counters import RedisCounters, Unseeded

FAR = 4_000_000_000.0  # a period end far in the future (epoch seconds)


@pytest.fixture(params=["local", "redis"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    if request.param == "local":
        yield LocalCounters()
        return
    client = aioredis.from_url(REDIS_URL)
    with redis_prefix("counters") as prefix:
        shared = RedisCounters(client, prefix)
        await shared.reconcile("start", [])  # learns the epoch token (see test_failover for a Redis that lost it)
        await shared.seed(budget(0, 0).key, 0.0, FAR)  # a budget counter counts once seeded (see test_unseeded)
        yield shared
    await client.aclose()


def rpm(limit: int) -> Check:
    return Check("rpm:key:k", "rate", limit, 1)


def budget(limit: float, amount: float) -> Check:
    return Check("budget:key:k:monthly:20261101", "budget", limit, amount, FAR)


async def test_rpm_lets_exactly_the_limit_through_under_concurrency(counters: Counters) -> None:
    results = await asyncio.gather(*(counters.take([rpm(5)]) for _ in range(40)))
    assert sum(r.ok for r in results) == 5
    refused = next(r for r in results if not r.ok)
    assert 11 < refused.wait <= 12.01  # one request comes back every 60/5 s


async def test_a_refused_check_applies_nothing(counters: Counters) -> None:
    # The key's RPM would pass, its budget does not: the RPM must not be spent by the refused request.
    assert (await counters.take([budget(1.0, 1.0)])).ok
    refused = await counters.take([rpm(1), budget(1.0, 0.1)])
    assert not refused.ok and refused.failed == 1
    assert (await counters.take([rpm(1)])).ok


async def test_budget_reserves_estimates_and_settles_to_the_real_cost(counters: Counters) -> None:
    first = await counters.take([budget(1.0, 0.7)])
    assert first.ok and first.taken == pytest.approx((0.7,))
    assert not (await counters.take([budget(1.0, 0.7)])).ok  # does not fit beside the one in flight
    spent = await counters.settle([Settle(budget(1, 0).key, "budget", 1.0, 0.7, 0.2, FAR)], first.source)
    assert spent == pytest.approx((0.2,))
    second = await counters.take([budget(1.0, 0.7)])
    assert second.ok and second.levels == pytest.approx((0.9,))


async def test_the_last_of_a_budget_goes_to_a_request_running_alone(counters: Counters) -> None:
    first = await counters.take([budget(1.0, 0.6)])
    assert not (await counters.take([budget(1.0, 0.6)])).ok  # 0.4 left, but a request is in flight
    await counters.settle([Settle(budget(1, 0).key, "budget", 1.0, 0.6, 0.6, FAR)], first.source)
    alone = await counters.take([budget(1.0, 0.6)])
    assert alone.ok and alone.taken == pytest.approx((0.4,))  # nothing in flight: it may take the rest
    assert not (await counters.take([budget(1.0, 0.01)])).ok


async def test_budget_of_ten_calls_admits_no_more_than_ten_calls_in_parallel(counters: Counters) -> None:
    cost, estimate = 0.008, 0.014
    results = await asyncio.gather(*(counters.take([budget(10 * cost, estimate)]) for _ in range(100)))
    admitted = [r for r in results if r.ok]
    assert len(admitted) == 5  # five estimates fit; nothing settles meanwhile
    assert sum(sum(r.taken) for r in admitted) <= 10 * cost


async def test_tpm_debt_holds_later_requests_back(counters: Counters) -> None:
    tpm = Check("tpm:key:k", "rate", 60, 10)
    taken = await counters.take([tpm])
    assert taken.ok and taken.levels == pytest.approx((50,), abs=0.1)
    # The request really used 200 tokens: the bucket goes into debt and refuses until it refills.
    await counters.settle([Settle(tpm.key, "rate", 60, 10 - 200)], taken.source)
    refused = await counters.take([tpm])
    assert not refused.ok
    assert refused.wait == pytest.approx(141, abs=1)  # (1 - (-140)) tokens at 1 token per second


async def test_seed_adds_past_spend_once(counters: Counters) -> None:
    await counters.seed(budget(1, 0).key, 0.6, FAR)
    await counters.seed(budget(1, 0).key, 0.6, FAR)  # a second replica starting: already seeded
    assert (await counters.take([budget(1.0, 0.1)])).levels == pytest.approx((0.7,))


async def test_seed_counts_requests_that_raced_ahead_of_it(counters: Counters) -> None:
    await counters.take([budget(1.0, 0.1)])  # a request right after start, before the seeding ran
    await counters.seed(budget(1, 0).key, 0.6, FAR)
    assert (await counters.take([budget(1.0, 0.1)])).levels == pytest.approx((0.8,))


async def test_seed_leaves_a_counter_that_was_counting_already(counters: Counters) -> None:
    # The counter has counted every request since the period began: the roll-ups hold the same spend (or less,
    # when the last records are not written yet), so seeding must not count it twice.
    taken = await counters.take([budget(1.0, 0.1)])
    await counters.settle([Settle(budget(1, 0).key, "budget", 1.0, 0.1, 0.1, FAR)], taken.source)
    await counters.seed(budget(1, 0).key, 0.1, FAR)
    await counters.seed(budget(1, 0).key, 0.05, FAR)  # a lagging view
    assert (await counters.take([budget(1.0, 0.1)])).levels == pytest.approx((0.2,))


async def test_seed_raises_a_counter_that_missed_spend(counters: Counters) -> None:
    # Created mid-period (after Redis lost its data): the roll-ups hold spend from before it.
    taken = await counters.take([budget(1.0, 0.1)])
    await counters.settle([Settle(budget(1, 0).key, "budget", 1.0, 0.1, 0.1, FAR)], taken.source)
    await counters.seed(budget(1, 0).key, 0.5, FAR)  # 0.4 before the counter, 0.1 it counted
    assert (await counters.take([budget(1.0, 0.1)])).levels == pytest.approx((0.6,))


def test_local_counters_refill_with_time() -> None:
    now = [1000.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    counters = LocalCounters(clock=clock)
    assert all(counters.take_now([rpm(2)]).ok for _ in range(2))
    assert not counters.take_now([rpm(2)]).ok
    now[0] += 30  # 2 per minute: one back after 30 s
    assert counters.take_now([rpm(2)]).ok
    assert not counters.take_now([rpm(2)]).ok


async def test_unseeded_a_budget_counter_redis_does_not_hold_is_not_taken_until_it_is_seeded() -> None:
    client = aioredis.from_url(REDIS_URL)
    with redis_prefix("unseeded") as prefix:
        shared = RedisCounters(client, prefix)
        await shared.reconcile("start", [])
        check = budget(1.0, 0.1)
        with pytest.raises(Unseeded) as missing:
            await shared.take([rpm(5), check])
        assert missing.value.check == check
        await shared.seed(check.key, 0.95, FAR)  # the spend so far, from the database
        taken = await shared.take([check])  # running alone, it takes the rest of the budget
        assert taken.ok and taken.taken[0] == pytest.approx(0.05)
        await client.delete(prefix + "limits:" + check.key)  # lost: the next take asks for a seed again
        with pytest.raises(Unseeded):
            await shared.take([check])
    await client.aclose()
