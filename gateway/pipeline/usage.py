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
        if "input_tokens" in usage and "prompt_tokens" not in usage:
            return cls._from_responses(usage)
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int(prompt_details.get("cached_tokens") or 0) if isinstance(prompt_details, dict) else 0,
            reasoning_tokens=(
                int(completion_details.get("reasoning_tokens") or 0) if isinstance(completion_details, dict) else 0
            ),
        )

    @classmethod
    def _from_responses(cls, usage: dict[str, Any]) -> Usage:
        input_details = usage.get("input_tokens_details")
        output_details = usage.get("output_tokens_details")
        return cls(
            prompt_tokens=int(usage.get("input_tokens") or 0),
            completion_tokens=int(usage.get("output_tokens") or 0),
            cached_tokens=int(input_details.get("cached_tokens") or 0) if isinstance(input_details, dict) else 0,
            reasoning_tokens=(
                int(output_details.get("reasoning_tokens") or 0) if isinstance(output_details, dict) else 0
            ),
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
