"""Redis going away, and the gateway itself restarting: requests keep being served and limits keep holding.

* When Redis is down, requests are served on this process's counters, with one warning per outage; when Redis is
  back, counting goes back to it.
* Spend so far this period survives a restart: at start-up the gateway seeds its counters from the daily
  roll-ups (in the background, once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import redis
from support.keyed import CALL_COST, Admin, keyed_config, migrated, together
from support.limits import burst, call
from support.servers import FakeProvider, Gateway, gateway
from support.throwaway import RedisServer, pg_database, spare_port

from gateway.db import Database
from gateway.keys.models import KeySpec
from gateway.keys.store import create_key

UNREACHABLE = "Redis is unreachable"
BACK = "Redis is reachable again"


@dataclass
class Servers:
    lost: Gateway  # its Redis port has nothing listening
    served: Gateway  # on a redis-server of our own, which the tests stop and start
    own_redis: RedisServer
    veteran: str  # a key that spent 9 of its 10 calls' worth earlier today, before these gateways started


@pytest.fixture(scope="module")
def servers(own_fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("outages")
    own = RedisServer(spare_port())
    own.start(tmp)
    try:
        with pg_database("outages") as database_url:
            veteran = _key_with_past_spend(migrated(database_url), 9 * CALL_COST)
            lost_config = keyed_config(own_fake, database_url, redis_url=f"redis://127.0.0.1:{spare_port()}/0")
            ours_config = keyed_config(own_fake, database_url, redis_url=own.url)
            slow = 90.0  # a loaded CI machine can take more than the default 30 s to start a gateway
            starting = gateway(lost_config, tmp / "lost", ready_timeout=slow), gateway(ours_config, tmp / "ours",
                                                                                       ready_timeout=slow)
            with together(*starting) as (lost, served):
                yield Servers(lost, served, own, veteran)
    finally:
        own.stop()


def _key_with_past_spend(database_url: str, spent: float) -> str:
    database = Database(database_url)
    row, key = create_key(database, KeySpec(name="veteran", budget_usd=10 * CALL_COST))
    database.dispose()
    with psycopg.connect(database_url) as db:  # what the request log's roll-up recorded earlier today
        db.execute(
            "INSERT INTO daily_rollups (day, key_id, team_id, model, provider, prompt_name, prompt_version, requests, "
            "errors, cached, prompt_tokens, completion_tokens, cost_usd, unpriced, cache_savings_usd, latency_ms_sum) "
            "VALUES (%s, %s, '', 'priced', 'openai', '', 0, 9, 0, 0, 36, 18, %s, 0, 0, 0)",
            (datetime.now(UTC).date(), row.id, spent),
        )
    return key


async def test_spend_so_far_survives_a_restart(servers: Servers) -> None:
    statuses = [(await call(servers.lost.v1, servers.veteran)).status for _ in range(3)]
    assert statuses == [200, 429, 429]  # one call's worth was left
    assert "seeded the spend of 1 keys/teams" in servers.lost.log()


async def test_without_redis_requests_are_served_and_limits_still_hold(servers: Servers) -> None:
    key = Admin(servers.lost.url).create_key(rpm=3)
    outcomes = await burst([servers.lost.v1], key, 6, model="gpt-4o-mini")
    assert sorted(o.status for o in outcomes) == [200, 200, 200, 429, 429, 429]
    assert [(await call(servers.lost.v1, key, "gpt-4o-mini")).status for _ in range(3)] == [429] * 3
    assert servers.lost.log().count(UNREACHABLE) == 1


async def test_redis_stopping_midway_then_returning(servers: Servers, tmp_path: Path) -> None:
    served, own = servers.served, servers.own_redis
    key = Admin(served.url).create_key(rpm=1000)
    assert (await call(served.v1, key, "gpt-4o-mini")).status == 200
    assert own_has_counters(own)

    own.stop()
    statuses = [(await call(served.v1, key, "gpt-4o-mini")).status for _ in range(5)]
    assert statuses == [200] * 5
    assert served.log().count(UNREACHABLE) == 1

    own.start(tmp_path)  # same port, empty
    assert not own_has_counters(own)
    assert await served_until_back(served, key), "the gateway never went back to Redis"
    assert (await call(served.v1, key, "gpt-4o-mini")).status == 200  # counted in Redis again
    assert own_has_counters(own)
    assert served.log().count(UNREACHABLE) == 1


async def served_until_back(served: Gateway, key: str) -> bool:
    """Requests keep being served while the gateway notices (a probe in the background checks twice a second)."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert (await call(served.v1, key, "gpt-4o-mini")).status == 200
        if BACK in served.log():
            return True
        await asyncio.sleep(0.2)
    return False


def own_has_counters(own: RedisServer) -> bool:
    with redis.Redis.from_url(own.url) as client:
        return any(b"rpm:key:" in name for name in client.keys("*"))
