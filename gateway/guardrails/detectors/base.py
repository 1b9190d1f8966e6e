"""What every detector is: something that finds spans (or a verdict) in text.

Contract: ``scan(texts)`` gets the texts of one message side (the request's or the answer's), in order, and
returns one list of ``Match`` per text. A match names an ``entity`` (``email``, ``aws_access_key``,
``prompt_injection``) and, for detectors that find a piece of the text, its span ``[start, end)``; detectors that
judge the whole text (injection, size) return ``start = end = 0`` and ``whole = True``. A detector never returns
or logs the matched value: callers read it from the text by span when they must (to mask it), and only then.

``max_length`` is the longest span a detector reports that it can still recognise, used by the stream filter to
size its hold-back window; ``None`` means the detector judges whole texts and does not run on streams' pieces.
``scan`` may raise: the engine turns a failure or an overrun of the deadline into a block (fail closed) unless
the guardrail is fail-open.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Match:
    entity: str
    start: int = 0
    end: int = 0
    score: float = 1.0
    whole: bool = False  # a verdict on the whole text, not a span in it


class Detector(Protocol):
    #: True when the detector finds spans that can be redacted or masked (PII, secrets, words).
    spans: bool
    #: The longest span it reports (characters); None for whole-text detectors.
    max_length: int | None

    async def scan(self, texts: Sequence[str]) -> list[list[Match]]: ...


class SyncDetector:
    """A detector whose work is plain CPU on each text: ``find(text)`` is all it writes.

    The engine calls ``scan_now`` directly (no task, no timer: a few microseconds on a short text) and checks its
    deadline afterwards. ``memo = True`` (a deterministic ``find``) remembers the findings of recent short texts,
    so a system prompt or a conversation's earlier turns, sent again with every request, are read once."""

    spans = True
    max_length: int | None = 256
    memo = False
    _seen: Memo | None = None  # made on first use: subclasses' __init__ need not call ours

    async def scan(self, texts: Sequence[str]) -> list[list[Match]]:
        return self.scan_now(texts)

    def scan_now(self, texts: Sequence[str]) -> list[list[Match]]:
        if not self.memo:
            return [self.find(text) if text else [] for text in texts]
        return [self._remembered(text) if text else [] for text in texts]

    def find(self, text: str) -> list[Match]:
        raise NotImplementedError

    def _remembered(self, text: str) -> list[Match]:
        seen = self._seen
        if seen is None:
            seen = self._seen = Memo()
        found = seen.get(text)
        if found is not None:
            return list(found)
        fresh = self.find(text)
        seen.put(text, fresh)
        return fresh


class Memo:
    """Findings of recent texts, by a digest of the text (the texts themselves, which may hold secrets, are not
    kept past their request); at most ``MEMO_ENTRIES``, emptied when full, which costs one more read of each
    text, never a wrong answer."""

    __slots__ = ("_found",)

    def __init__(self) -> None:
        self._found: dict[bytes, tuple[Match, ...]] = {}

    def get(self, text: str) -> tuple[Match, ...] | None:
        return self._found.get(_digest(text)) if len(text) <= MEMO_TEXT else None

    def put(self, text: str, found: Sequence[Match]) -> None:
        if len(text) > MEMO_TEXT:
            return
        if len(self._found) >= MEMO_ENTRIES:
            self._found.clear()
        self._found[_digest(text)] = tuple(found)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


#: The longest text a detector's memo remembers, and how many texts it remembers.
MEMO_TEXT = 4096
MEMO_ENTRIES = 4096
