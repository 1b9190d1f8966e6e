"""Deterministic Anthropic Messages API reply bodies and stream events.

Pure functions over a parsed ``/v1/messages`` request. The reply is one content
block: ``{"type": "text", "text": "Echo: <last user text>"}`` (``"Tool result: ..."``
when the last user turn carries ``tool_result`` blocks), or a ``tool_use`` block whose
``input`` is synthesised from the chosen tool's ``input_schema``. Streams follow the
API's event order exactly: ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta``..., ``content_block_stop``, ``message_delta``, ``message_stop``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.fake_provider.content import (
    Finish,
    Frames,
    Json,
    Limited,
    ToolCall,
    apply_limits,
    as_limit,
    as_stops,
    block_text,
    fragments,
    make_tool_call,
    pieces,
    word_count,
)

_STOP_REASON: dict[Finish, str] = {
    "end": "end_turn",
    "stop_sequence": "stop_sequence",
    "length": "max_tokens",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
_PER_MESSAGE_TOKENS = 3


@dataclass(frozen=True, slots=True)
class MessagePlan:
    """The single content block of the reply and its token counts."""

    text: Limited | None
    tool_call: ToolCall | None
    input_tokens: int
    output_tokens: int

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.text is None else _STOP_REASON[self.text.finish]

    @property
    def stop_sequence(self) -> str | None:
        return None if self.text is None else self.text.stop_sequence


def plan_message(body: Json) -> MessagePlan:
    messages = [message for message in body.get("messages") or [] if isinstance(message, dict)]
    input_tokens = word_count(block_text(body.get("system"))) + sum(
        word_count(_all_text(m.get("content"))) + _PER_MESSAGE_TOKENS for m in messages
    )
    result = _tool_result_text(messages[-1]) if messages else None
    if result is not None:
        reply = "Tool result: " + result
    else:
        source = _last_user_text(messages)
        tool = _chosen_tool(body, source, messages)
        if tool is not None:
            return MessagePlan(None, tool, input_tokens, max(word_count(tool.arguments), 1))
        reply = "Echo: " + source
    limited = apply_limits(reply, as_limit(body.get("max_tokens")), as_stops(body.get("stop_sequences")))
    return MessagePlan(limited, None, input_tokens, len(pieces(limited.text)))


def message(plan: MessagePlan, model: str, ident: str) -> Json:
    return {
        **_head(model, ident),
        "content": [_block(plan, streaming=False)],
        "stop_reason": plan.stop_reason,
        "stop_sequence": plan.stop_sequence,
        "usage": _usage(plan.input_tokens, plan.output_tokens),
    }


def message_stream(plan: MessagePlan, model: str, ident: str) -> Frames:
    start = {
        **_head(model, ident),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(plan.input_tokens, 1),
    }
    if plan.tool_call is not None:
        arguments = fragments(plan.tool_call.arguments)
        deltas = [{"type": "input_json_delta", "partial_json": part} for part in arguments]
    else:
        text = plan.text.text if plan.text is not None else ""
        deltas = [{"type": "text_delta", "text": piece} for piece in pieces(text)]
    frames = [
        _event("message_start", {"type": "message_start", "message": start}),
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": _block(plan, streaming=True)},
        ),
        _event("ping", {"type": "ping"}),
    ]
    frames.extend(
        _event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        for delta in deltas
    )
    stop = {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence}
    finale = {"type": "message_delta", "delta": stop, "usage": {"output_tokens": plan.output_tokens}}
    frames.append(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    frames.append(_event("message_delta", finale))
    frames.append(_event("message_stop", {"type": "message_stop"}))
    return Frames(frames, preamble=3)


def anthropic_error(status: int, message: str) -> Json:
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _head(model: str, ident: str) -> Json:
    return {"id": ident, "type": "message", "role": "assistant", "model": model}


def _usage(input_tokens: int, output_tokens: int) -> Json:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _block(plan: MessagePlan, *, streaming: bool) -> Json:
    call = plan.tool_call
    if call is not None:
        # A streamed tool_use block starts empty; its input arrives as input_json_delta.
        value = {} if streaming else call.value
        return {"type": "tool_use", "id": "toolu_" + call.id_suffix, "name": call.name, "input": value}
    text = "" if streaming or plan.text is None else plan.text.text
    return {"type": "text", "text": text}


def _event(name: str, payload: Json) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _tool_result_text(last: Json) -> str | None:
    """Text of the tool results in the last message, or None if it carries none."""
    content = last.get("content")
    if last.get("role") != "user" or not isinstance(content, list):
        return None
    results = [block for block in content if isinstance(block, dict) and block.get("type") == "tool_result"]
    if not results:
        return None
    return " ".join(block_text(block.get("content")) for block in results)


def _all_text(content: Any) -> str:
    """Words a message contributes to the prompt: its text plus any tool results."""
    text = block_text(content)
    if not isinstance(content, list):
        return text
    results = [
        block_text(block.get("content"))
        for block in content
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    return " ".join([text, *results])


def _last_user_text(messages: list[Json]) -> str:
    for candidate in reversed(messages):
        if candidate.get("role") == "user":
            return block_text(candidate.get("content"))
    return ""


def _chosen_tool(body: Json, text: str, messages: list[Json]) -> ToolCall | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    choice_type = choice.get("type") if isinstance(choice, dict) else None
    if not isinstance(tools, list) or choice_type == "none":
        return None
    usable = [tool for tool in tools if isinstance(tool, dict) and isinstance(tool.get("name"), str)]
    if not usable:
        return None
    wanted = choice.get("name") if isinstance(choice, dict) and choice_type == "tool" else None
    picked = next((tool for tool in usable if tool["name"] == wanted), usable[0])
    return make_tool_call(picked["name"], picked.get("input_schema"), text, messages)
