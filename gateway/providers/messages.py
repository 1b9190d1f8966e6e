"""The provider's own words, fit for a client: no traceback, no SDK decoration, bounded length.

An upstream error message reaches the client in the gateway's error body. Providers and adapters wrap it in
noise that is at best useless to the client and at worst shows the gateway's internals: litellm appends a
Python traceback with file paths to errors it did not expect, prefixes class names (``litellm.BadRequestError:
AnthropicException - ...``) and suffixes hints (``Handle with `litellm.InternalServerError`.``); a LiteLLM
proxy upstream adds its model-group and retry notes. ``clean_message`` keeps what the provider said.
"""

from __future__ import annotations

import re
from typing import Final

import orjson

#: Longest message passed on, in characters; a provider's real message is far shorter.
MAX_MESSAGE: Final = 500

# Where a stack dump starts: Python's header, a frame line when the header was cut off, or litellm's bug-report
# and help notes (a prefilled issue URL that names the gateway's code paths; advice for litellm's own users).
_STACK = re.compile(
    r"Traceback \(most recent call last\)|\n\s*File \"[^\"\n]*\", line \d+|\n\s*Stack trace:"
    r"|This looks like a bug in LiteLLM|Give Feedback / Get Help|LiteLLM\.Info:|To drop these, set `litellm\."
)
# LiteLLM's decorations, before and after the provider's words.
_PREFIX = re.compile(r"^\s*(?:litellm\.[A-Za-z]+(?:Error|Exception|Timeout)?:\s*|[A-Za-z]*(?:Exception|Error) - )")
_NOISE = re.compile(
    r"\.?\s*Handle with `litellm\.[A-Za-z]+`\.?"
    r"|\s*(?:Received Model Group|Available Model Group Fallbacks|LiteLLM Retried|LiteLLM Max Retries)=?.*"
)
_SPACE = re.compile(r"\s+")


def clean_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` without stack dumps and litellm's decoration, on one line, at most ``limit`` characters."""
    text = _undecorated(text)
    inner = _embedded_message(text)
    if inner is not None:
        text = _undecorated(inner)
    stack = _STACK.search(text)
    if stack is not None:
        text = text[: stack.start()]
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or "no message"


def _undecorated(text: str) -> str:
    while (prefix := _PREFIX.match(text)) is not None and prefix.end() > 0:
        text = text[prefix.end() :]
    return _NOISE.sub("", text).strip()


def _embedded_message(text: str) -> str | None:
    """The ``error.message`` of a JSON error body that an adapter quoted whole (Anthropic's and OpenAI's shape)."""
    if not text.startswith("{"):
        return None
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return None
