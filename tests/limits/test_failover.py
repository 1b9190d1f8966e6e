"""Limits across a Redis outage, a Redis restart (empty) and a frozen Redis, with two replicas sharing one Redis.

The documented bound (docs/keys-and-limits.md): while Redis is out of reach each replica counts on from the level
it last saw in Redis, so a budget admits at most, per replica, what was left of it when that replica last saw Redis
(and an RPM limit, per replica, what was left plus its refill). When Redis comes back, even empty, what each
replica counted is added to it once and the levels it last saw are restored: nothing admitted before or during the
outage is forgotten. A frozen Redis costs a request at most the breaker's timeout (0.5 s per operation), and only
the few requests before the breaker opens.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from support.keyed import CALL_COST, Admin, keyed_config, migrated, together
from support.limits import call
from support.servers import FakeProvider, Gateway, gateway
from support.throwaway import RedisServer, pg_database, spare_port

UNREACHABLE = "Redis is unreachable"
BACK = "Redis is reachable again"


@dataclass
class Replicas:
    a: Gateway
    b: Gateway
    own: RedisServer
    tmp: Path

    @property
    def admin(self) -> Admin:
        return Admin(self.a.url)

    @property
    def urls(self) -> list[str]:
        return [self.a.v1, self.b.v1]

    def stop_redis(self) -> tuple[int, int]:
        """Stop Redis; returns how often each replica has come back so far."""
        backs = self.backs()
        self.own.stop()
        return backs

    def restart_redis(self) -> None:
        self.own.start(self.tmp)  # same port, empty

    def backs(self) -> tuple[int, int]:
        return self.a.log().count(BACK), self.b.log().count(BACK)


@pytest.fixture(scope="module")
def replicas(own_fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    tmp = tmp_path_factory.mktemp("failover")
    own = RedisServer(spare_port())
    own.start(tmp)
    try:
        with pg_database("failover") as database_url:
            config = keyed_config(own_fake, migrated(database_url), redis_url=own.url)
            slow = 90.0  # a loaded CI machine starts a gateway slowly; the tests themselves are bounded below
            starting = gateway(config, tmp / "a", ready_timeout=slow), gateway(config, tmp / "b", ready_timeout=slow)
            with together(*starting) as (a, b):
                yield Replicas(a, b, own, tmp)
    finally:
        if own.process is not None:
            own.process.send_signal(signal.SIGCONT)  # a frozen server cannot be stopped
        own.stop()


async def admitted(urls: list[str], key: str, count: int, model: str = "priced") -> int:
    """``count`` calls one after the other, alternating over ``urls``; how many got a 200."""
    statuses = [(await call(urls[i % len(urls)], key, model)).status for i in range(count)]
    assert set(statuses) <= {200, 429}, statuses
    return statuses.count(200)


async def both_back(replicas: Replicas, before: tuple[int, int], *, only_a: bool = False) -> None:
    """Wait (at most 15 s) until each replica (or only a) has logged that Redis is back since ``before``."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        a, b = replicas.backs()
        if a > before[0] and (only_a or b > before[1]):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the replicas did not go back to Redis: {replicas.backs()} after {before}")


def new_key(admin: Admin, **spec: object) -> tuple[str, str]:
    """A key's secret and id."""
    response = admin.client.post("/admin/keys", json={"name": f"k-{time.monotonic_ns()}", **spec})
    assert response.status_code == 201, response.text
    return str(response.json()["key"]), str(response.json()["id"])


def budget_spent(own: RedisServer, key_id: str) -> float:
    """The spend Redis holds for the key's budget (0 when it holds no counter for it)."""
    with redis.Redis.from_url(own.url) as client:
        names = [name for name in client.keys("*") if f"limits:budget:key:{key_id}:".encode() in name]
        return sum(float(client.hget(name, "spent") or 0) for name in names)


async def test_a_budget_across_an_outage_and_a_restart_is_overspent_at_most_by_what_was_left(
    replicas: Replicas,
) -> None:
    key, key_id = new_key(replicas.admin, budget_usd=10 * CALL_COST)
    await asyncio.sleep(0.5)  # the key reaches both replicas (invalidation through Redis)
    assert await admitted(replicas.urls, key, 6) == 6  # a saw 5 calls spent, b saw 6

    before = replicas.stop_redis()
    during = await admitted(replicas.urls, key, 24)
    # Each replica counts on from what it saw: a admits at most 5 more, b at most 4 (before: 10 each, from zero).
    assert during <= 9

    replicas.restart_redis()
    await both_back(replicas, before)
    # Redis came back empty: the spend seen and counted is restored into it, so nothing more is admitted (before:
    # a fresh budget of 10 calls).
    after = await admitted(replicas.urls, key, 6)
    assert after == 0
    assert budget_spent(replicas.own, key_id) >= (6 + during) * CALL_COST * 0.999


async def test_an_rpm_limit_across_an_outage_and_a_restart_holds_within_the_bound(replicas: Replicas) -> None:
    key = replicas.admin.create_key(rpm=6)
    await asyncio.sleep(0.5)
    assert await admitted(replicas.urls, key, 2, "gpt-4o-mini") == 2  # a saw 5 left, b saw 4

    before = replicas.stop_redis()
    started = time.monotonic()
    during = await admitted(replicas.urls, key, 20, "gpt-4o-mini")
    refill = 2 * 6 * (time.monotonic() - started) / 60  # each replica's bucket refills on its own
    assert during <= 9 + refill + 1  # before: 12 (two fresh buckets of 6)

    replicas.restart_redis()
    await both_back(replicas, before)
    refill = 6 * (time.monotonic() - started) / 60 + 1
    after = await admitted(replicas.urls, key, 6, "gpt-4o-mini")
    assert after <= refill  # before: 6 (an empty Redis is a full bucket)


async def test_counters_are_restored_after_redis_restarts_empty(replicas: Replicas) -> None:
    budget_key, key_id = new_key(replicas.admin, budget_usd=10 * CALL_COST)
    rpm_key = replicas.admin.create_key(rpm=5)
    await asyncio.sleep(0.5)
    assert await admitted(replicas.urls, budget_key, 4) == 4
    assert await admitted(replicas.urls, rpm_key, 3, "gpt-4o-mini") == 3

    replicas.own.stop()  # a quick restart between requests: no request saw Redis down
    replicas.restart_redis()
    assert budget_spent(replicas.own, key_id) == 0

    assert await admitted(replicas.urls, rpm_key, 5, "gpt-4o-mini") <= 3  # 2 were left, 1 may have refilled
    assert await admitted(replicas.urls, budget_key, 10) == 6  # before: 10 (a fresh budget)
    await asyncio.sleep(3)  # the reseed from the database's roll-ups (2 s after the restart) counts nothing twice
    assert budget_spent(replicas.own, key_id) == pytest.approx(10 * CALL_COST, rel=0.01)
    assert "Redis lost the limit counters" in replicas.a.log() + replicas.b.log()


async def test_a_frozen_redis_delays_only_the_requests_before_the_breaker_opens(replicas: Replicas) -> None:
    key = replicas.admin.create_key(rpm=10_000, budget_usd=1000.0)
    await asyncio.sleep(0.5)
    base = [await timed(replicas.a.v1, key) for _ in range(10)]
    before = replicas.backs()

    assert replicas.own.process is not None
    replicas.own.process.send_signal(signal.SIGSTOP)
    try:
        frozen = [await timed(replicas.a.v1, key) for _ in range(40)]
    finally:
        replicas.own.process.send_signal(signal.SIGCONT)
    baseline = statistics.median(base)
    added = sorted(latency - baseline for latency in frozen)
    # Before: the client's 1 s socket timeout, on about a third of the requests.
    assert added[-1] < 1.5, added  # one timeout (0.5 s) at most, plus a loaded machine's noise
    assert sum(extra > 0.4 for extra in added) <= 5, added  # only until the breaker opens (3 failures)
    assert UNREACHABLE in replicas.a.log()
    await both_back(replicas, before, only_a=True)  # thawed: the probe closes the breaker


async def timed(url: str, key: str) -> float:
    started = time.monotonic()
    outcome = await call(url, key)
    assert outcome.status == 200, outcome
    return time.monotonic() - started


async def test_a_budget_counter_deleted_from_redis_is_reseeded_from_the_database_not_reset(
    replicas: Replicas,
) -> None:
    key, key_id = new_key(replicas.admin, budget_usd=10 * CALL_COST)
    await asyncio.sleep(0.5)
    assert await admitted(replicas.urls, key, 6) == 6
    await asyncio.sleep(1.0)  # the six calls are in the request log's roll-ups
    with redis.Redis.from_url(replicas.own.url) as client:
        lost = client.keys(f"*limits:budget:key:{key_id}:*")
        assert lost and client.delete(*lost) == len(lost)
    # Before: the key spent its whole budget again (10 more calls).
    assert await admitted(replicas.urls, key, 10) == 4
    assert "was missing from Redis" in replicas.a.log() + replicas.b.log()


async def test_during_an_outage_each_replica_counts_on_from_the_spend_in_the_database(replicas: Replicas) -> None:
    key, key_id = new_key(replicas.admin, budget_usd=10 * CALL_COST)
    await asyncio.sleep(0.5)
    assert await admitted([replicas.a.v1], key, 6) == 6  # only a has seen the counter in Redis
    await asyncio.sleep(1.0)  # the six calls are in the request log
    before = replicas.stop_redis()
    during = 0
    for i in range(10):  # alternating, slower than a replica re-reads the database (once a second per counter)
        outcome = await call(replicas.urls[i % 2], key)
        assert outcome.status in (200, 429)
        during += outcome.status == 200
        await asyncio.sleep(1.2)
    # Before: b counted from its start-up seed and a from what it saw, 4 + 5 calls in all.
    assert during == 4
    replicas.restart_redis()
    await both_back(replicas, before)
    # What the replicas spent apart was written back to Redis when it returned.
    assert await admitted(replicas.urls, key, 4) == 0
    assert budget_spent(replicas.own, key_id) >= 10 * CALL_COST * 0.999
