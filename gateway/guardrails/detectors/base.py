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
    """A detector whose work is plain CPU on each text: ``find(text)`` is all it writes."""

    spans = True
    max_length: int | None = 256

    async def scan(self, texts: Sequence[str]) -> list[list[Match]]:
        return [self.find(text) if text else [] for text in texts]

    def find(self, text: str) -> list[Match]:
        raise NotImplementedError
