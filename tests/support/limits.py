"""Helpers of the limit tests: two gateways sharing one database and Redis, and calls through the OpenAI SDK."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import openai

from support.keyed import CALL_COST, ONE_WORD, Admin, Receiver
from support.servers import Gateway


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


@dataclass
class Outcome:
    status: int
    headers: dict[str, str]
    error: dict[str, Any] | None = None


async def call(
    base_url: str, key: str, model: str = "priced", max_tokens: int | None = 2, **params: Any
) -> Outcome:
    """One chat completion through the OpenAI SDK; its status, headers and error body."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    try:
        raw = await client.chat.completions.with_raw_response.create(
            model=model, messages=ONE_WORD, **params  # type: ignore[arg-type]
        )
        return Outcome(raw.status_code, dict(raw.headers))
    except openai.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        return Outcome(exc.status_code, dict(exc.response.headers), body)
    finally:
        await client.close()


async def burst(
    urls: list[str], key: str, count: int, model: str = "priced", max_tokens: int | None = 2
) -> list[Outcome]:
    """``count`` requests at once, spread over the gateways in ``urls``."""
    calls = (call(urls[i % len(urls)], key, model, max_tokens) for i in range(count))
    return list(await asyncio.gather(*calls))


__all__ = ["CALL_COST", "Outcome", "Pair", "burst", "call"]
