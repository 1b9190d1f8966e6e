"""Two gateway processes (A and B) sharing a throwaway PostgreSQL database and the machine's Redis, with a budget
alert webhook pointed at a receiver in this process.

The package has a fake provider of its own (``own_fake``): these tests inject no faults, so they skip the
per-test reset of the session's fake.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.keyed import keyed_config, migrated, together, webhook_receiver
from support.limits import Pair
from support.servers import FakeProvider, fake_provider, gateway
from support.throwaway import REDIS_URL, pg_database, redis_prefix


@pytest.fixture(scope="package")
def own_fake() -> Iterator[FakeProvider]:
    with fake_provider() as fake:
        yield fake


@pytest.fixture(scope="package")
def pair(own_fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("limits")
    with pg_database("limits") as database_url, redis_prefix("limits") as prefix, webhook_receiver() as hook:
        config = keyed_config(own_fake, migrated(database_url), redis_url=REDIS_URL, prefix=prefix,
                              budget_alert_webhook=hook.url)
        slow = 90.0  # a loaded CI machine can take more than the default 30 s to start a gateway
        starting = gateway(config, tmp / "a", ready_timeout=slow), gateway(config, tmp / "b", ready_timeout=slow)
        with together(*starting) as (a, b):
            yield Pair(a, b, database_url, prefix, hook)
