"""OpenAI chat.completion -> OpenAI Responses ``response`` object, and the pieces the stream shares.

Contract: ``chat_to_response(chat, request, response_id)`` returns a ``response`` object valid against the
``Response`` schema of OpenAI's OpenAPI description: the first choice's reasoning (``reasoning_content``, as
litellm reports Claude's thinking and DeepSeek's reasoning) becomes a ``reasoning`` item, its text a ``message``
item, its tool calls ``function_call`` items, in that order. ``finish_reason: "length"`` makes the response
``incomplete``. The request's own settings are echoed back, as OpenAI does.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__ = ["chat_to_response", "new_id", "response_usage", "skeleton"]

JSON = dict[str, Any]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def skeleton(request: JSON, response_id: str, model: str, created: int | None = None) -> JSON:
    """A ``response`` object with no output yet, status ``in_progress``: the start of a stream, and of every
    finished response."""
    text = request.get("text") if isinstance(request.get("text"), dict) else None
    reasoning = request.get("reasoning") if isinstance(request.get("reasoning"), dict) else None
    return {
        "id": response_id,
        "object": "response",
        "created_at": created if created is not None else int(time.time()),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model,
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": (reasoning or {}).get("effort"), "summary": (reasoning or {}).get("summary")},
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": {"format": (text or {}).get("format") or {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": [_echo_tool(tool) for tool in request.get("tools") or [] if isinstance(tool, dict)],
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation") or "disabled",
        "metadata": request.get("metadata") or {},
        **({"user": request["user"]} if isinstance(request.get("user"), str) else {}),
    }


def _echo_tool(tool: JSON) -> JSON:
    """A function tool as OpenAI echoes it: ``strict`` (default on) and ``description`` always present."""
    if tool.get("type") != "function":
        return tool
    return {"description": None, "parameters": None, **tool, "strict": tool.get("strict", True)}


def finish(response: JSON, output: list[JSON], usage: JSON | None, finish_reason: str | None) -> JSON:
    """Fill in a skeleton once the answer is whole: output, usage and the final status."""
    response["output"] = output
    if usage is not None:
        response["usage"] = usage
    if finish_reason == "length":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    elif finish_reason == "content_filter":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "content_filter"}
    else:
        response["status"] = "completed"
        response["completed_at"] = int(time.time())
    return response


def chat_to_response(chat: JSON, request: JSON, response_id: str) -> JSON:
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = mapping(choice.get("message"))
    output: list[JSON] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        output.append(reasoning_item(new_id("rs"), reasoning))
    content = message.get("content")
    if isinstance(content, str) and content:
        output.append(message_item(new_id("msg"), content, "completed"))
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        output.append(refusal_item(new_id("msg"), refusal))
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            output.append(call_item(new_id("fc"), str(call.get("id") or new_id("call")), function, "completed"))
    model = str(chat.get("model") or request.get("model") or "")
    response = skeleton(request, response_id, model, created=chat.get("created"))
    return finish(response, output, response_usage(chat.get("usage")), choice.get("finish_reason"))


def mapping(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def message_item(item_id: str, text: str, status: str) -> JSON:
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [output_text(text)],
    }


def output_text(text: str) -> JSON:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def refusal_item(item_id: str, refusal: str) -> JSON:
    return {
        "type": "message",
        "id": item_id,
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "refusal", "refusal": refusal}],
    }


def call_item(item_id: str, call_id: str, function: JSON, status: str) -> JSON:
    arguments = function.get("arguments")
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": str(function.get("name") or ""),
        "arguments": arguments if isinstance(arguments, str) else "",
        "status": status,
    }


def reasoning_item(item_id: str, text: str) -> JSON:
    return {"type": "reasoning", "id": item_id, "summary": [{"type": "summary_text", "text": text}]}


def response_usage(usage: Any) -> JSON | None:
    """Chat usage -> Responses usage (``input_tokens``/``output_tokens`` and their details)."""
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else None
    reasoning = completion_details.get("reasoning_tokens") if isinstance(completion_details, dict) else None
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": int(cached or 0), "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(reasoning or 0)},
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }
