"""Size limits: characters and (estimated) tokens of one side of a request, summed over its texts."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.guardrails.detectors.base import Match

#: Characters per token for the estimate: English averages about four with OpenAI's tokenizers.
CHARS_PER_TOKEN = 4


class SizeDetector:
    spans = False
    max_length: int | None = None

    def __init__(self, max_chars: int | None = None, max_tokens: int | None = None) -> None:
        if max_chars is None and max_tokens is None:
            raise ValueError("give max_chars or max_tokens")
        self._max_chars = max_chars
        self._max_tokens = max_tokens

    async def scan(self, texts: Sequence[str]) -> list[list[Match]]:
        out: list[list[Match]] = [[] for _ in texts]
        if not texts:
            return out
        chars = sum(len(t) for t in texts)
        if self._max_chars is not None and chars > self._max_chars:
            out[0] = [Match("too_many_characters", whole=True)]
        elif self._max_tokens is not None and chars / CHARS_PER_TOKEN > self._max_tokens:
            out[0] = [Match("too_many_tokens", whole=True)]
        return out
