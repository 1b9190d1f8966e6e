"""The resilience suite: the running gateway against faults staged for real, on servers of its own.

One fake provider and one private PostgreSQL cluster (``support.pgcluster``) serve the whole package; each test
gets a fresh database in that cluster, and the cluster is running again when the test ends, whatever it did to it.
Redis, where a test needs it, is a ``redis-server`` of the test's own on a spare port.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support import pgcluster
from support.pgcluster import PgCluster, pg_cluster
from support.servers import FakeProvider, fake_provider
from support.throwaway import spare_port


@pytest.fixture(scope="package")
def upstream() -> Iterator[FakeProvider]:
    with fake_provider() as server:
        yield server


@pytest.fixture(scope="package")
def cluster() -> Iterator[PgCluster]:
    if not pgcluster.available():
        pytest.skip(f"no PostgreSQL binaries in {pgcluster.PG_BIN} for a private cluster")
    with pg_cluster(spare_port()) as server:
        yield server


@pytest.fixture
def database_url(cluster: PgCluster) -> Iterator[str]:
    """A fresh database in the private cluster (here in place of tests/conftest.py's); the cluster is started again
    afterwards if a test stopped it."""
    url = cluster.new_database()
    try:
        yield url
    finally:
        if not cluster.is_running():
            cluster.start()
