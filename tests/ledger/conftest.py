"""Fixtures of the request-log tests: a throwaway PostgreSQL database, and a TCP proxy in front of the machine's
PostgreSQL that a test can cut to make the database unreachable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.throwaway import pg_database

from ledger.tcp_proxy import TcpProxy


@pytest.fixture
def pg() -> Iterator[str]:
    with pg_database("ledger") as url:
        yield url


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    server = TcpProxy(5432)
    server.start()
    yield server
    server.stop()
