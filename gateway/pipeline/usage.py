"""Token usage as the provider reported it, read from OpenAI-shaped bodies and stream chunks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def from_openai(cls, usage: Any) -> Usage | None:
        """Chat/completions usage, or the Responses API's (``input_tokens``/``output_tokens``)."""
        if not isinstance(usage, dict):
            return None
        prompt, completion = _NAMES["responses" if "input_tokens" in usage and "prompt_tokens" not in usage else "chat"]
        return cls(
            prompt_tokens=int(usage.get(prompt) or 0),
            completion_tokens=int(usage.get(completion) or 0),
            cached_tokens=_detail(usage.get(f"{prompt}_details"), "cached_tokens"),
            reasoning_tokens=_detail(usage.get(f"{completion}_details"), "reasoning_tokens"),
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


#: The names of the prompt and completion counts (their details are ``<name>_details``), per API.
_NAMES = {"chat": ("prompt_tokens", "completion_tokens"), "responses": ("input_tokens", "output_tokens")}


def _detail(details: Any, key: str) -> int:
    return int(details.get(key) or 0) if isinstance(details, dict) else 0
