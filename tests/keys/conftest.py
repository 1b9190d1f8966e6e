"""Two gateway processes (A and B) sharing one throwaway PostgreSQL database and the machine's Redis.

They use a fake provider of their own: these tests inject no faults, so they skip the per-test reset of the
session's fake.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.keyed import keyed_config, migrated, together
from support.keys import Pair
from support.servers import fake_provider, gateway
from support.throwaway import REDIS_URL, pg_database, redis_prefix


@pytest.fixture(scope="package")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("keys")
    with fake_provider() as fake, pg_database("keys") as database_url, redis_prefix("keys") as prefix:
        config = keyed_config(fake, migrated(database_url), redis_url=REDIS_URL, prefix=prefix)
        with together(gateway(config, tmp / "a"), gateway(config, tmp / "b")) as (a, b):
            yield Pair(a, b, database_url, config)
