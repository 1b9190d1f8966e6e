"""Banned substrings, regular expressions and topic lists: what a team says must not go in or come out.

``words`` are matched case-insensitively on word boundaries; ``patterns`` are regular expressions (Python
syntax, compiled once when the policy loads); ``topics`` map a topic name to its words, and a finding names the
topic (``topic:weapons``), not the word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from gateway.guardrails.detectors.base import Match, SyncDetector


def _alternation(words: Sequence[str]) -> re.Pattern[str] | None:
    cleaned = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in cleaned) + r")(?!\w)", re.IGNORECASE)


class WordsDetector(SyncDetector):
    def __init__(
        self,
        words: Sequence[str] = (),
        patterns: Sequence[str] = (),
        topics: Mapping[str, Sequence[str]] | None = None,
        entity: str = "banned_word",
    ) -> None:
        compiled: list[tuple[str, re.Pattern[str]]] = []
        if (alternation := _alternation(words)) is not None:
            compiled.append((entity, alternation))
        for index, pattern in enumerate(patterns):
            try:
                compiled.append((f"pattern_{index + 1}", re.compile(pattern)))
            except re.error as exc:
                raise ValueError(f"patterns[{index}] is not a valid regular expression: {exc}") from exc
        for topic, topic_words in (topics or {}).items():
            if (alternation := _alternation(topic_words)) is not None:
                compiled.append((f"topic:{topic}", alternation))
        if not compiled:
            raise ValueError("give at least one of words, patterns, topics")
        self._compiled = compiled
        longest = max((len(w) for w in words), default=0)
        self.max_length = max(64, longest) if not patterns else 256

    def find(self, text: str) -> list[Match]:
        found = [Match(entity, m.start(), m.end()) for entity, p in self._compiled for m in p.finditer(text)]
        return sorted((m for m in found if m.end > m.start), key=lambda m: m.start)
