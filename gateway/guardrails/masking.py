"""Redaction and reversible masking of spans, and their undoing in the answer.

``redact`` replaces a value with its type, ``<EMAIL>``, for good. ``mask`` replaces it with a numbered
placeholder, ``<EMAIL_1>``, that the request's ``Vault`` remembers: the upstream sees only placeholders, and the
answer the client reads has the originals back (the same value gets the same placeholder, so a model that
repeats it is restored too). The vault lives in the request's memory only; it is never logged or stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    replacement: str


def redaction(entity: str) -> str:
    return f"<{entity.upper()}>"


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with each edit's span replaced (edits must not overlap; they are applied in order)."""
    out, at = [], 0
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.start < at:
            continue
        out += [text[at : edit.start], edit.replacement]
        at = edit.end
    out.append(text[at:])
    return "".join(out)


def without_overlaps(edits: Iterable[Edit]) -> list[Edit]:
    """The edits sorted, keeping the first (then the longest) of any that overlap."""
    kept: list[Edit] = []
    for edit in sorted(edits, key=lambda e: (e.start, -e.end)):
        if not kept or edit.start >= kept[-1].end:
            kept.append(edit)
    return kept


@dataclass(slots=True)
class Vault:
    """One request's masked values: placeholder -> original."""

    originals: dict[str, str] = field(default_factory=dict)
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = None

    def placeholder(self, entity: str, value: str) -> str:
        known = self._by_value.get((entity, value))
        if known is not None:
            return known
        number = self._counts[entity] = self._counts.get(entity, 0) + 1
        token = f"<{entity.upper()}_{number}>"
        self._by_value[(entity, value)] = token
        self.originals[token] = value
        self._pattern = None
        return token

    @property
    def longest(self) -> int:
        return max((len(token) for token in self.originals), default=0)

    def restorations(self, text: str) -> list[Edit]:
        """Where ``text`` holds placeholders of this vault, and the originals they stand for."""
        if not self.originals or "<" not in text:
            return []
        if self._pattern is None:
            self._pattern = re.compile("|".join(re.escape(t) for t in sorted(self.originals, key=len, reverse=True)))
        return [Edit(m.start(), m.end(), self.originals[m.group()]) for m in self._pattern.finditer(text)]

    def restore(self, text: str) -> str:
        return apply_edits(text, self.restorations(text))
