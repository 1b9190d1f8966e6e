"""Helpers of the cache tests: a config with the cache on, one call and its headers, waiting for answers to be
filed (the cache files them in the background, after the response)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import openai

from support.config import MASTER_KEY, base_config
from support.servers import FakeProvider, Gateway

MODEL = "gpt-4o-mini"


def cache_config(fake: FakeProvider, tmp: Path, **cache: Any) -> dict[str, Any]:
    """The semantic cache on; lookups get 5 s (not 50 ms) so that a loaded test machine does not turn hits into
    misses (the deadline's own behaviour is tested with an embedder that hangs)."""
    return base_config(fake, tmp, gateway={"cache": {"mode": "semantic", "lookup_timeout_ms": 5000, **cache}})


def ask(client: openai.OpenAI, text: str, **params: Any) -> tuple[str, dict[str, str]]:
    """One chat completion; its answer text and response headers."""
    raw = client.chat.completions.with_raw_response.create(
        model=params.pop("model", MODEL), messages=[{"role": "user", "content": text}], **params
    )
    return raw.parse().choices[0].message.content or "", dict(raw.headers)


def entries(server: Gateway) -> int:
    response = httpx.get(server.url + "/admin/cache", headers={"authorization": f"Bearer {MASTER_KEY}"})
    response.raise_for_status()
    return int(response.json().get("semantic_entries", response.json()["entries"]))


def wait_filed(server: Gateway, at_least: int, timeout: float = 30.0) -> None:
    """Answers are filed in the background after the response: wait until the cache holds ``at_least``."""
    deadline = time.monotonic() + timeout
    while entries(server) < at_least:
        assert time.monotonic() < deadline, f"the cache never held {at_least} entries"
        time.sleep(0.02)
