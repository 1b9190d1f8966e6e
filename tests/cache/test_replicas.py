"""Replicas and failures: two gateway processes share hits through Redis (exact and semantic), a delete on one
reaches the other; Redis going down turns lookups into misses with one warning, and an embedder that hangs
costs a lookup its deadline, never the request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from support.caching import MODEL, ask, cache_config, entries, wait_filed
from support.config import MASTER_KEY
from support.keyed import migrated, together
from support.servers import FakeProvider, Gateway, gateway
from support.throwaway import REDIS_URL, RedisServer, pg_database, redis_prefix, spare_port


def shared_config(fake: FakeProvider, tmp: Path, database_url: str, redis_url: str, prefix: str) -> dict[str, Any]:
    config = cache_config(fake, tmp)
    config["general_settings"]["database_url"] = database_url
    config["gateway"].update(redis_url=redis_url, redis_key_prefix=prefix)
    return config


@pytest.fixture(scope="module")
def replicas(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Gateway]]:
    tmp = tmp_path_factory.mktemp("replicas")
    with pg_database("cache") as database_url, redis_prefix("cache") as prefix:
        config = shared_config(fake, tmp, migrated(database_url), REDIS_URL, prefix)
        starting = gateway(config, tmp / "a", ready_timeout=90), gateway(config, tmp / "b", ready_timeout=90)
        with together(*starting) as servers:
            yield servers


def client(server: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=MASTER_KEY, max_retries=0)


def test_two_gateways_share_exact_and_semantic_hits_through_redis(
    replicas: list[Gateway], fake: FakeProvider
) -> None:
    a, b = replicas
    before = entries(a)
    stored, _ = ask(client(a), "How do I change a flat tyre on a bicycle?")
    wait_filed(a, before + 1)  # filed in Redis: the answer, and the semantic entry on the namespace's list
    exact, headers = ask(client(b), "How do I change a flat tyre on a bicycle?")
    assert headers["x-gateway-cache"] == "hit" and exact == stored
    paraphrase, headers = ask(client(b), "How can I change a flat tyre on a bicycle?")
    assert headers["x-gateway-cache"] == "semantic-hit" and paraphrase == stored
    assert fake.count(MODEL) == 1


def test_a_delete_on_one_gateway_clears_the_other(replicas: list[Gateway], fake: FakeProvider) -> None:
    a, b = replicas
    before = entries(a)
    ask(client(a), "What is the speed of sound in air?")
    wait_filed(a, before + 1)
    assert ask(client(b), "What is the speed of sound in air?")[1]["x-gateway-cache"] == "hit"
    deleted = httpx.delete(a.url + "/admin/cache", headers={"authorization": f"Bearer {MASTER_KEY}"})
    assert deleted.status_code == 200
    deadline = time.monotonic() + 30
    while entries(b) > 0:  # b hears the delete on the bus and drops its in-process index
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ask(client(b), "What is the speed of sound in air?")[1]["x-gateway-cache"] == "miss"
    assert fake.count(MODEL) == 2


def test_redis_going_down_means_misses_and_one_warning_never_an_error(
    fake: FakeProvider, tmp_path: Path
) -> None:
    redis = RedisServer(spare_port())
    redis.start(tmp_path)
    try:
        config = shared_config(fake, tmp_path, f"sqlite:///{tmp_path / 'gw.db'}", redis.url, "gwtest:cache-down:")
        with gateway(config, tmp_path / "gw") as server:
            sdk = client(server)
            question = "Which gas do plants absorb from the air?"
            ask(sdk, question)
            wait_filed(server, 1)
            assert ask(sdk, question)[1]["x-gateway-cache"] == "hit"
            redis.stop()
            for _ in range(3):
                answer, headers = ask(sdk, question)
                assert headers["x-gateway-cache"] == "miss" and answer == f"Echo: {question}"
            assert server.log().count("cache: Redis failed") == 1
    finally:
        redis.stop()


def test_an_embedder_that_hangs_costs_the_lookup_its_deadline_never_the_request(
    fake: FakeProvider, tmp_path: Path
) -> None:
    config = cache_config(fake, tmp_path, embedding_model="hang", lookup_timeout_ms=50)
    with gateway(config, tmp_path) as server:
        started = time.monotonic()
        answer, headers = ask(client(server), "What is the capital of Peru?")
        assert time.monotonic() - started < 4.0  # the embedder answers after 5 s, or never
        assert headers["x-gateway-cache"] == "miss" and answer == "Echo: What is the capital of Peru?"
        deadline = time.monotonic() + 10
        while "embedding with hang failed or was late" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)


def test_an_embedding_model_of_the_config_is_called_through_the_router(fake: FakeProvider, tmp_path: Path) -> None:
    config = cache_config(fake, tmp_path, embedding_model="text-embedding-3-small")
    with gateway(config, tmp_path) as server:
        sdk = client(server)
        ask(sdk, "What is the capital of Chile?")
        wait_filed(server, 1)
        assert ask(sdk, "What is the capital of Chile?")[1]["x-gateway-cache"] == "hit"
        # the warm-up and the lookup: the filing reuses the lookup's vector, and the exact hit embeds nothing
        assert fake.count("text-embedding-3-small", "/v1/embeddings") == 2
        stats = httpx.get(server.url + "/admin/cache", headers={"authorization": f"Bearer {MASTER_KEY}"}).json()
        assert stats["embedder"] == "text-embedding-3-small"
