"""Anthropic Messages request -> OpenAI chat.completions request.

Contract: ``messages_to_chat(body)`` takes a parsed ``POST /v1/messages`` body and returns a new dict that any
OpenAI-compatible upstream accepts. It never mutates ``body``. It raises ``AnthropicRequestError`` (a
``ValueError`` carrying ``param``) for the mistakes the Anthropic API itself rejects with a 400: a missing
``model``, ``messages`` or ``max_tokens``, and fields of the wrong type.

What has no OpenAI equivalent is dropped rather than refused, so clients built for Claude keep working against
any model: ``top_k``, ``thinking``, ``cache_control``, ``service_tier``, ``container``, ``mcp_servers``,
thinking blocks, server tools (web search, bash, ...), images from the Files API and non-text documents.
Turn order is preserved; a user turn becomes its ``role: tool`` messages first, then one user message with
the rest of its blocks, because OpenAI requires tool results to follow the assistant tool call directly.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["AnthropicRequestError", "messages_to_chat"]

JSON = dict[str, Any]

# Separator for text blocks of one turn that collapse into a single string; a string content is the form
# every OpenAI-compatible server accepts, a list of text parts is not.
_TEXT_JOIN = "\n"


class AnthropicRequestError(ValueError):
    """The request is malformed in a way the Anthropic API answers with 400 invalid_request_error."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def messages_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """Translate an Anthropic Messages request into an OpenAI chat.completions request."""
    if not isinstance(body, dict):
        raise AnthropicRequestError("body: Input should be a valid object", "body")
    model = _required(body, "model", str, "string")
    if not model:
        raise AnthropicRequestError("model: String should have at least 1 character", "model")
    raw_messages = _required(body, "messages", list, "list")
    if not raw_messages:
        raise AnthropicRequestError("messages: List should have at least 1 item", "messages")
    max_tokens = _required(body, "max_tokens", int, "integer")
    if max_tokens < 1:
        raise AnthropicRequestError("max_tokens: Input should be greater than or equal to 1", "max_tokens")

    messages = _system_messages(body.get("system"))
    for i, message in enumerate(raw_messages):
        messages.extend(_convert_message(message, f"messages.{i}"))
    chat: JSON = {"model": model, "messages": messages, "max_tokens": max_tokens}
    _add_sampling(body, chat)
    _add_tools(body, chat)
    if _optional(body, "stream", bool, "boolean"):
        chat["stream"] = True
        # The gateway meters every request; without this OpenAI streams carry no token counts.
        chat["stream_options"] = {"include_usage": True}
    return chat


# --- validation -------------------------------------------------------------------------------------------


def _check(value: Any, param: str, expected: type | tuple[type, ...], label: str) -> Any:
    types = expected if isinstance(expected, tuple) else (expected,)
    # bool is an int subclass, but `"max_tokens": true` is a type error, not 1.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise AnthropicRequestError(f"{param}: Input should be a valid {label}", param)
    return value


def _required(obj: JSON, key: str, expected: type | tuple[type, ...], label: str, prefix: str = "") -> Any:
    param = f"{prefix}.{key}" if prefix else key
    if obj.get(key) is None:
        raise AnthropicRequestError(f"{param}: Field required", param)
    return _check(obj[key], param, expected, label)


def _optional(obj: JSON, key: str, expected: type | tuple[type, ...], label: str, prefix: str = "") -> Any:
    value = obj.get(key)
    if value is None:
        return None
    return _check(value, f"{prefix}.{key}" if prefix else key, expected, label)


# --- messages ---------------------------------------------------------------------------------------------


def _system_messages(system: Any) -> list[JSON]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    blocks = _blocks(_check(system, "system", list, "string or list"), "system")
    texts = [
        _required(block, "text", str, "string", f"system.{i}")
        for i, block in enumerate(blocks)
        if block["type"] == "text"
    ]
    text = _TEXT_JOIN.join(t for t in texts if t)
    return [{"role": "system", "content": text}] if text else []


def _blocks(content: list[Any], param: str) -> list[JSON]:
    for i, block in enumerate(content):
        _check(block, f"{param}.{i}", dict, "object")
        _required(block, "type", str, "string", f"{param}.{i}")
    return content


def _convert_message(message: Any, param: str) -> list[JSON]:
    _check(message, param, dict, "object")
    role = _required(message, "role", str, "string", param)
    if role not in ("user", "assistant"):
        raise AnthropicRequestError(f"{param}.role: Input should be 'user' or 'assistant'", f"{param}.role")
    content = _required(message, "content", (str, list), "string or list", param)
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = _blocks(content, f"{param}.content")
    if role == "user":
        return _user_turn(blocks, f"{param}.content")
    return _assistant_turn(blocks, f"{param}.content")


def _user_turn(blocks: list[JSON], param: str) -> list[JSON]:
    tool_messages: list[JSON] = []
    parts: list[JSON] = []
    for i, block in enumerate(blocks):
        if block["type"] == "tool_result":
            tool_message, images = _tool_result(block, f"{param}.{i}")
            tool_messages.append(tool_message)
            parts.extend(images)
        elif (part := _content_part(block, f"{param}.{i}")) is not None:
            parts.append(part)
    if parts:
        tool_messages.append({"role": "user", "content": _collapse(parts)})
    return tool_messages


def _assistant_turn(blocks: list[JSON], param: str) -> list[JSON]:
    texts: list[str] = []
    tool_calls: list[JSON] = []
    for i, block in enumerate(blocks):
        where = f"{param}.{i}"
        if block["type"] == "text":
            texts.append(_required(block, "text", str, "string", where))
        elif block["type"] == "tool_use":
            tool_input = _optional(block, "input", dict, "object", where) or {}
            tool_calls.append(
                {
                    "id": _required(block, "id", str, "string", where),
                    "type": "function",
                    "function": {
                        "name": _required(block, "name", str, "string", where),
                        "arguments": orjson.dumps(tool_input).decode(),
                    },
                }
            )
    text = _TEXT_JOIN.join(t for t in texts if t)
    if not text and not tool_calls:
        # A turn of thinking blocks only; an empty assistant message is refused by several upstreams.
        return []
    message: JSON = {"role": "assistant", "content": text or None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return [message]


def _tool_result(block: JSON, param: str) -> tuple[JSON, list[JSON]]:
    """One ``role: tool`` message, plus the images it held: OpenAI tool messages carry text only."""
    call_id = _required(block, "tool_use_id", str, "string", param)
    content = _optional(block, "content", (str, list), "string or list", param) or ""
    texts: list[str] = []
    images: list[JSON] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for i, inner in enumerate(_blocks(content, f"{param}.content")):
            part = _content_part(inner, f"{param}.content.{i}")
            if part is None:
                continue
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                images.append(part)
    if images:
        texts.append("(the image output of this tool is attached to the next user message)")
    text = _TEXT_JOIN.join(t for t in texts if t)
    if _optional(block, "is_error", bool, "boolean", param):
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def _collapse(parts: list[JSON]) -> str | list[JSON]:
    if all(part["type"] == "text" for part in parts):
        return _TEXT_JOIN.join(part["text"] for part in parts)
    return parts


# --- content blocks ---------------------------------------------------------------------------------------


def _content_part(block: JSON, param: str) -> JSON | None:
    """An OpenAI content part for a user-side block, or None when the block has no OpenAI equivalent."""
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": _required(block, "text", str, "string", param)}
    if kind == "image":
        return _image_part(_required(block, "source", dict, "object", param), f"{param}.source")
    if kind == "document":
        text = _document_text(block, param)
        return {"type": "text", "text": text} if text else None
    # thinking, redacted_thinking, search results, server tool blocks and future types: dropped.
    return None


def _image_part(source: JSON, param: str) -> JSON | None:
    kind = source.get("type")
    if kind == "base64":
        media_type = _required(source, "media_type", str, "string", param)
        data = _required(source, "data", str, "string", param)
        return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{data}"}}
    if kind == "url":
        return {"type": "image_url", "image_url": {"url": _required(source, "url", str, "string", param)}}
    # A Files API `file_id` means nothing to another provider.
    return None


def _document_text(block: JSON, param: str) -> str | None:
    source = _required(block, "source", dict, "object", param)
    kind = source.get("type")
    body: str | None = None
    if kind == "text":
        body = _required(source, "data", str, "string", f"{param}.source")
    elif kind == "content":
        inner = source.get("content")
        if isinstance(inner, str):
            body = inner
        elif isinstance(inner, list):
            body = _TEXT_JOIN.join(b["text"] for b in inner if isinstance(b, dict) and isinstance(b.get("text"), str))
    # PDFs (base64 / url / file sources) need a provider-specific file upload: dropped.
    if not body:
        return None
    title = block.get("title")
    return f"{title}\n\n{body}" if isinstance(title, str) and title else body


# --- parameters -------------------------------------------------------------------------------------------


def _add_sampling(body: JSON, chat: JSON) -> None:
    for key in ("temperature", "top_p"):
        value = _optional(body, key, (int, float), "number")
        if value is not None:
            chat[key] = value
    stops = _optional(body, "stop_sequences", list, "list")
    if stops:
        for i, stop in enumerate(stops):
            _check(stop, f"stop_sequences.{i}", str, "string")
        chat["stop"] = list(stops)
    metadata = _optional(body, "metadata", dict, "object")
    if metadata:
        user_id = _optional(metadata, "user_id", str, "string", "metadata")
        if user_id:
            chat["user"] = user_id


def _add_tools(body: JSON, chat: JSON) -> None:
    raw_tools = _optional(body, "tools", list, "list") or []
    converted = (_convert_tool(tool, f"tools.{i}") for i, tool in enumerate(raw_tools))
    tools = [tool for tool in converted if tool is not None]
    choice = _optional(body, "tool_choice", dict, "object")
    if not tools:
        # OpenAI refuses tool_choice without tools; this happens when only server tools were sent.
        if choice is not None:
            _convert_tool_choice(choice)
        return
    chat["tools"] = tools
    if choice is not None:
        chat["tool_choice"] = _convert_tool_choice(choice)
        if _optional(choice, "disable_parallel_tool_use", bool, "boolean", "tool_choice"):
            chat["parallel_tool_calls"] = False


def _convert_tool(tool: Any, param: str) -> JSON | None:
    _check(tool, param, dict, "object")
    if tool.get("type") not in (None, "custom"):
        # Server tools (web_search_*, bash_*, text_editor_*, computer_*) run inside Anthropic's API.
        return None
    function: JSON = {
        "name": _required(tool, "name", str, "string", param),
        "parameters": _required(tool, "input_schema", dict, "object", param),
    }
    description = _optional(tool, "description", str, "string", param)
    if description:
        function["description"] = description
    return {"type": "function", "function": function}


def _convert_tool_choice(choice: JSON) -> str | JSON:
    kind = _required(choice, "type", str, "string", "tool_choice")
    if kind == "auto":
        return "auto"
    if kind == "any":
        return "required"
    if kind == "none":
        return "none"
    if kind == "tool":
        name = _required(choice, "name", str, "string", "tool_choice")
        return {"type": "function", "function": {"name": name}}
    raise AnthropicRequestError("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'", "tool_choice.type")
