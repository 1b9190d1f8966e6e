"""OpenAI chat.completion response -> Anthropic Messages response, and OpenAI errors -> Anthropic errors.

Contract: ``chat_to_message(chat, model)`` turns a non-streamed chat.completion into an Anthropic ``message``
object; ``error_to_anthropic(status, body)`` turns an OpenAI-style error body into Anthropic's
``{"type": "error", "error": {"type", "message"}}``. Both are pure and never raise on odd upstream shapes:
a missing field degrades to its empty value. Only the first choice is read (Anthropic has no ``n``).

The helpers ``message_id``, ``map_usage``, ``map_stop_reason``, ``matched_stop_sequence`` and
``parse_tool_input`` are shared with the stream translator so both paths agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

import orjson

from gateway.pipeline.usage import Usage

__all__ = [
    "chat_to_message",
    "error_to_anthropic",
    "error_type",
    "map_stop_reason",
    "map_usage",
    "matched_stop_sequence",
    "message_id",
    "new_tool_id",
    "parse_tool_input",
]

JSON = dict[str, Any]

STOP_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "stop": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "function_call": "tool_use",
        "content_filter": "refusal",
    }
)

# Anthropic's documented error types; the SDK picks its exception class from the status, not from these.
ERROR_TYPES: Final[Mapping[int, str]] = MappingProxyType(
    {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        409: "conflict_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        502: "api_error",
        503: "overloaded_error",
        504: "timeout_error",
        529: "overloaded_error",
    }
)


def chat_to_message(chat: dict[str, Any], model: str, stop_sequences: Sequence[str] | None = None) -> dict[str, Any]:
    """Translate an OpenAI chat.completion into an Anthropic ``message``.

    ``model`` is the name the client asked for, echoed back as Anthropic does. ``stop_sequences`` are the
    request's; they only matter when the upstream names the stop string it matched (vLLM's ``stop_reason``).
    """
    choices = chat.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    choice: JSON = first if isinstance(first, dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    finish_reason = choice.get("finish_reason")

    content: list[JSON] = []
    text = _message_text(message)
    refusal = message.get("refusal")
    if not text and isinstance(refusal, str) and refusal:
        # A structured-output refusal: shown as text, flagged the way Anthropic flags refusals.
        text, finish_reason = refusal, "content_filter"
    if text:
        content.append({"type": "text", "text": text})
    content.extend(_tool_use_blocks(message.get("tool_calls")))

    stop_sequence = matched_stop_sequence(choice, stop_sequences or ())
    stop_reason = map_stop_reason(
        finish_reason if isinstance(finish_reason, str) else None,
        has_tool_use=any(block["type"] == "tool_use" for block in content),
        stop_sequence=stop_sequence,
    )
    return {
        "id": message_id(chat.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": map_usage(chat.get("usage")),
    }


def error_to_anthropic(status: int, openai_error_body: dict[str, Any]) -> dict[str, Any]:
    """Anthropic's error body for an upstream or gateway failure with this HTTP status."""
    message = _error_message(status, openai_error_body)
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def error_type(status: int) -> str:
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def message_id(chat_id: Any) -> str:
    """``msg_`` plus the upstream id without its ``chatcmpl-`` prefix, so logs on both sides line up."""
    if isinstance(chat_id, str) and chat_id:
        return "msg_" + chat_id.removeprefix("chatcmpl-")
    return "msg_" + uuid.uuid4().hex


def new_tool_id() -> str:
    return "toolu_" + uuid.uuid4().hex


def map_usage(usage: Any) -> dict[str, Any]:
    """Anthropic usage from OpenAI usage. OpenAI's ``prompt_tokens`` counts cache reads and cache writes; Anthropic's
    ``input_tokens`` counts neither: they are ``cache_read_input_tokens`` and ``cache_creation_input_tokens``, the
    writes split by lifetime in ``cache_creation``."""
    counted = Usage.from_openai(usage) or Usage()
    read, written = counted.cached_tokens, counted.cache_write_tokens
    written_1h = min(counted.cache_write_1h_tokens, written)
    mapped: dict[str, Any] = {
        "input_tokens": max(counted.prompt_tokens - read - written, 0),
        "output_tokens": counted.completion_tokens,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": written,
    }
    if written:
        mapped["cache_creation"] = {
            "ephemeral_5m_input_tokens": written - written_1h,
            "ephemeral_1h_input_tokens": written_1h,
        }
    return mapped


def map_stop_reason(finish_reason: str | None, *, has_tool_use: bool, stop_sequence: str | None) -> str:
    if stop_sequence is not None and finish_reason in (None, "stop"):
        return "stop_sequence"
    # Some upstreams (Gemini, older Ollama) say "stop" or nothing after tool calls; Anthropic clients decide
    # whether to run tools from stop_reason, so the blocks win.
    if has_tool_use and finish_reason in (None, "stop", "tool_calls", "function_call"):
        return "tool_use"
    return STOP_REASONS.get(finish_reason or "stop", "end_turn")


def matched_stop_sequence(choice: Mapping[str, Any], stop_sequences: Sequence[str]) -> str | None:
    """The stop string the upstream reports it matched, if it is one the client asked for.

    OpenAI strips the stop string and doesn't say which one fired; vLLM and SGLang put it in the choice's
    ``stop_reason``. Checking it against the request keeps unrelated values out.
    """
    matched = choice.get("stop_reason")
    return matched if isinstance(matched, str) and matched in stop_sequences else None


def parse_tool_input(arguments: Any) -> dict[str, Any]:
    """Tool arguments as the JSON object Anthropic requires for ``input``.

    Empty arguments mean a call without parameters. Double-encoded JSON (a string holding the object, which
    some models emit) is unwrapped. Anything else that is not an object becomes ``{}``: the tool then reports
    its missing parameters to the model, which can retry, instead of the whole response failing.
    """
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str | bytes) or not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
        if isinstance(value, str):
            value = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _message_text(message: JSON) -> str:
    content = message.get("content")
    if isinstance(content, list):
        # Some servers (Mistral) return content parts; reasoning parts are not text.
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    return content if isinstance(content, str) else ""


def _tool_use_blocks(tool_calls: Any) -> list[JSON]:
    if not isinstance(tool_calls, list):
        return []
    blocks: list[JSON] = []
    for call in tool_calls:
        if not isinstance(call, dict):
            continue
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        call_id = call.get("id")
        name = function.get("name")
        blocks.append(
            {
                "type": "tool_use",
                # Kept verbatim: the client echoes it back as tool_use_id, which becomes the tool_call_id.
                "id": call_id if isinstance(call_id, str) and call_id else new_tool_id(),
                "name": name if isinstance(name, str) else "",
                "input": parse_tool_input(function.get("arguments")),
            }
        )
    return blocks


def _error_message(status: int, body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
            return str(error["message"])
        for candidate in (error, body.get("message"), body.get("detail")):
            if isinstance(candidate, str) and candidate:
                return candidate
    return f"Upstream request failed with HTTP {status}"


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
