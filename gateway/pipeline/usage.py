"""Token usage as the provider reported it, read from OpenAI-shaped bodies and stream chunks.

Cache writes (Anthropic's ``cache_creation_input_tokens``) arrive through litellm as
``prompt_tokens_details.cache_creation_tokens`` (or the top-level ``cache_creation_input_tokens``), with the
1-hour part in ``cache_creation_token_details.ephemeral_1h_input_tokens``. Like cached tokens they are counted
inside ``prompt_tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @classmethod
    def from_openai(cls, usage: Any) -> Usage | None:
        """Chat/completions usage, or the Responses API's (``input_tokens``/``output_tokens``)."""
        if not isinstance(usage, dict):
            return None
        prompt, completion = _NAMES["responses" if "input_tokens" in usage and "prompt_tokens" not in usage else "chat"]
        prompt_details = _dict(usage.get(f"{prompt}_details"))
        completion_details = _dict(usage.get(f"{completion}_details"))
        written = _int(prompt_details.get("cache_creation_tokens")) or _int(usage.get("cache_creation_input_tokens"))
        by_lifetime = _dict(prompt_details.get("cache_creation_token_details"))
        return cls(
            prompt_tokens=_int(usage.get(prompt)),
            completion_tokens=_int(usage.get(completion)),
            cached_tokens=_int(prompt_details.get("cached_tokens")),
            reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
            cache_write_tokens=written,
            cache_write_1h_tokens=_int(by_lifetime.get("ephemeral_1h_input_tokens")),
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


#: The names of the prompt and completion counts (their details are ``<name>_details``), per API.
_NAMES = {"chat": ("prompt_tokens", "completion_tokens"), "responses": ("input_tokens", "output_tokens")}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
