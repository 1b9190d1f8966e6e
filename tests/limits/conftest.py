"""Two gateway processes (A and B) sharing a throwaway PostgreSQL database and the machine's Redis, with a budget
alert webhook pointed at a receiver in this process.

The package has a fake provider of its own (``own_fake``): these tests inject no faults, so they skip the
per-test reset of the session's fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
from support.keyed import CALL_COST, ONE_WORD, Admin, Receiver, keyed_config, migrated, together, webhook_receiver
from support.servers import FakeProvider, Gateway, fake_provider, gateway
from support.throwaway import REDIS_URL, pg_database, redis_prefix


@dataclass
class Pair:
    a: Gateway
    b: Gateway
    database_url: str
    prefix: str
    hook: Receiver

    @property
    def admin(self) -> Admin:
        return Admin(self.a.url)


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


@dataclass
class Outcome:
    status: int
    headers: dict[str, str]
    error: dict[str, Any] | None = None


async def call(base_url: str, key: str, model: str = "priced", **params: Any) -> Outcome:
    """One chat completion through the OpenAI SDK; its status, headers and error body."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
    try:
        raw = await client.chat.completions.with_raw_response.create(
            model=model, messages=ONE_WORD, max_tokens=2, **params  # type: ignore[arg-type]
        )
        return Outcome(raw.status_code, dict(raw.headers))
    except openai.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        return Outcome(exc.status_code, dict(exc.response.headers), body)
    finally:
        await client.close()


async def burst(urls: list[str], key: str, count: int, model: str = "priced") -> list[Outcome]:
    """``count`` requests at once, spread over the gateways in ``urls``."""
    return list(await asyncio.gather(*(call(urls[i % len(urls)], key, model) for i in range(count))))


__all__ = ["CALL_COST", "Outcome", "Pair", "burst", "call"]
