"""Helpers of the key tests: two gateways sharing one database, and one chat call's status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import openai

from support.keyed import ONE_WORD, Admin
from support.servers import Gateway


@dataclass
class Pair:
    a: Gateway
    b: Gateway
    database_url: str
    config: dict[str, Any]

    @property
    def admin(self) -> Admin:
        return Admin(self.a.url)


def chat(base_url: str, key: str, model: str = "gpt-4o-mini") -> int:
    """The HTTP status of one chat completion with ``key``."""
    with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
        try:
            client.chat.completions.create(model=model, messages=ONE_WORD)  # type: ignore[arg-type]
        except openai.APIStatusError as exc:
            return exc.status_code
    return 200
