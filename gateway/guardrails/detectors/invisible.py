"""Invisible and control characters: zero-width spaces and joiners, bidirectional overrides, Unicode tags (the
"ASCII smuggling" block), and C0/C1 controls other than tab and newlines. They hide instructions from the person
reading a prompt while the model still reads them."""

from __future__ import annotations

import re

from gateway.guardrails.detectors.base import Match, SyncDetector

_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+"
)


class InvisibleDetector(SyncDetector):
    max_length: int | None = 64

    def find(self, text: str) -> list[Match]:
        if text.isascii() and text.isprintable():
            return []
        return [Match("invisible_characters", m.start(), m.end()) for m in _INVISIBLE.finditer(text)]
