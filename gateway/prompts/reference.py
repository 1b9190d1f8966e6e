"""How a request names a prompt, and how a caller is assigned to a canary.

A reference is ``name`` (the ``production`` label), ``name@3`` (version 3) or ``name@staging`` (a label). It comes
in a chat request's ``prompt_id`` field (LiteLLM's name; the OpenAI SDK sends it through ``extra_body``), or, for
clients that cannot add body fields, in the model name: ``model: "prompt/name@label"``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

MODEL_PREFIX = "prompt/"
DEFAULT_LABEL = "production"
#: Canary percentages resolve to 1/100 of a percent.
BUCKETS = 10_000


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    version: int | None = None
    label: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{self.label or DEFAULT_LABEL}"


def references_prompt(body: dict[str, Any]) -> bool:
    """Whether a request body names a prompt (cheap: two lookups, for the hot path)."""
    model = body.get("model")
    return "prompt_id" in body or (isinstance(model, str) and model.startswith(MODEL_PREFIX))


def parse_reference(text: str) -> Reference:
    """``name``, ``name@3`` or ``name@label``. Raises ``ValueError`` with a message for people."""
    name, sep, selector = text.strip().partition("@")
    if not name or "/" in name or (sep and not selector):
        raise ValueError(f"invalid prompt reference {text!r}: use name, name@VERSION or name@LABEL")
    if not sep:
        return Reference(name)
    if selector.isdigit():
        return Reference(name, version=int(selector))
    return Reference(name, label=selector)


def in_canary(prompt: str, caller: str, percent: float) -> bool:
    """Stable assignment: the same caller of the same prompt always lands on the same side."""
    digest = hashlib.blake2b(f"{prompt}\x00{caller}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS < round(percent * BUCKETS / 100)
