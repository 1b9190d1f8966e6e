"""Anthropic Messages API <-> OpenAI chat completions, both ways, for ``POST /v1/messages``.

The gateway speaks OpenAI chat completions to every upstream; this package lets Anthropic clients (the
Anthropic SDK, Claude Code) use any configured model through it. It is pure translation: no I/O, no litellm,
no module state. ``messages_to_chat`` turns the request around (raising ``AnthropicRequestError`` for a
400), ``chat_to_message`` the non-streamed response, ``ChatToMessageStream`` the streamed one, and
``error_to_anthropic`` an OpenAI error body.
"""

from gateway.anthropic_compat.request import AnthropicRequestError, messages_to_chat
from gateway.anthropic_compat.response import chat_to_message, error_to_anthropic
from gateway.anthropic_compat.stream import ChatToMessageStream

__all__ = [
    "AnthropicRequestError",
    "ChatToMessageStream",
    "chat_to_message",
    "error_to_anthropic",
    "messages_to_chat",
]
