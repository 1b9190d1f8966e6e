"""A gateway on a throwaway PostgreSQL database, for the bad-input tests: PostgreSQL is where a NUL or an
out-of-range value used to turn into a 500 (SQLite stores almost anything). Test modules import the fixture
(a conftest here would shadow the top-level ``conftest`` module that other tests import by name)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from support.keyed import MASTER_KEY, keyed_config, migrated
from support.servers import FakeProvider, Gateway, gateway
from support.throwaway import pg_database


@dataclass
class EdgeGateway:
    server: Gateway
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=30)


@pytest.fixture(scope="session", name="edge")
def edge_fixture(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeGateway]:
    tmp = tmp_path_factory.mktemp("edge")
    with pg_database("edge") as database_url:
        config: dict[str, Any] = keyed_config(fake, migrated(database_url))
        config["model_list"].append(
            {"model_name": "text-embedding-3-small",
             "litellm_params": {"model": "openai/text-embedding-3-small", "api_base": fake.v1, "api_key": "fake"}}
        )
        with gateway(config, tmp) as server:
            yield EdgeGateway(server, database_url)
