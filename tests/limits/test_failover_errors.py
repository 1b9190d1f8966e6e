"""Only Redis being out of reach is an outage: a bug in the counters fails the request instead of being hidden."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import pytest
import redis.exceptions

from gateway.limits.counters import Check, LocalCounters, Taken
from gateway.limits.failover import FailoverCounters
from gateway.limits.redis_counters import RedisCounters

RPM = Check("rpm:key:k", "rate", 5, 1)


class Failing:
    """Stands in for ``RedisCounters``: every operation raises ``error``."""

    epoch = "e"

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def take(self, checks: Sequence[Check]) -> Taken:
        raise self.error


def failover(error: Exception) -> FailoverCounters:
    return FailoverCounters(cast(RedisCounters, Failing(error)), LocalCounters())


async def test_a_bug_is_not_taken_for_an_outage() -> None:
    counters = failover(ValueError("a bug in the counters"))
    with pytest.raises(ValueError, match="a bug"):
        await counters.take([RPM])
    assert counters.source() == "redis"


@pytest.mark.parametrize(
    "error",
    [redis.exceptions.ConnectionError("refused"), redis.exceptions.BusyLoadingError("loading"),
     redis.exceptions.TimeoutError("timed out")],
)
async def test_redis_out_of_reach_is_counted_here(error: Exception) -> None:
    counters = failover(error)
    assert all([(await counters.take([RPM])).ok for _ in range(3)])
    assert counters.source() == "local"  # three failures opened the breaker
    await counters.aclose()
