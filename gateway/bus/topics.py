"""Every topic of the change bus, in one table: what changed, and who acts on it.

A topic names a kind of change that gateway processes keep a copy of in memory. Whoever changes it (the admin API
with ``await svc.bus.publish(topic, payload)``, the CLI with ``gateway.cli.common.announce``) publishes on the
topic; whoever keeps the copy subscribes in its ``start`` with ``bus.subscribe(topic, handler)``.

To add one (the response cache's invalidation and the guardrail policies' reload come next): a constant here and
a line in ``TOPICS`` saying what its payload is. The bus refuses a topic that is not in the table, so a typo fails
at once rather than in silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

CACHE: Final = "cache"
KEYS: Final = "keys"
PROMPTS: Final = "prompts"

#: topic -> what a message on it means, and what its payload is.
TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        CACHE: "cached answers were deleted (payload: JSON {namespace, prompt}, either null for any): every cache "
        "stage drops the matching entries it holds in memory (and in Redis)",
        KEYS: "a virtual key or team changed (payload unused): every KeyCache reloads",
        PROMPTS: "prompt versions or labels changed (payload: the prompt names, comma-separated, informational): "
        "every PromptCache reloads",
    }
)


def known(topic: str) -> str:
    """``topic`` itself, if it is in the table; a ValueError otherwise."""
    if topic not in TOPICS:
        raise ValueError(f"unknown bus topic {topic!r}; add it to gateway/bus/topics.py")
    return topic
