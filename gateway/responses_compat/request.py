"""OpenAI Responses request -> OpenAI chat.completions request, for upstreams that do not speak Responses.

Contract: ``responses_to_chat(body)`` takes a parsed ``POST /v1/responses`` body (``previous_response_id``
already expanded into ``input`` by the gateway) and returns a new chat body. It never mutates ``body``. It
raises ``ResponsesRequestError`` (a ``ValueError`` carrying ``param``) for what OpenAI answers with a 400 and
for what a chat upstream cannot do (built-in tools such as ``web_search``, ``background`` mode).

Reasoning items in the input are dropped: chat completions has no way to send them back, and a model answers
without them. ``function_call`` items join the assistant turn before them, as chat wants tool calls on one
assistant message followed by their ``role: tool`` results.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["ResponsesRequestError", "input_items", "responses_to_chat"]

JSON = dict[str, Any]

#: Request fields copied unchanged: they mean the same in both APIs.
_SAME = ("temperature", "top_p", "parallel_tool_calls", "user", "top_logprobs", "service_tier", "seed")
#: Fields a chat upstream cannot honour: refused rather than silently ignored.
_REFUSED = ("background", "conversation", "prompt")


class ResponsesRequestError(ValueError):
    """The request is one OpenAI answers with 400, or one a chat-completions upstream cannot serve."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def input_items(body: JSON) -> list[JSON]:
    """``input`` as a list of items: a string is one user message, as the API defines it."""
    raw = body.get("input")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ResponsesRequestError("input: expected a string or an array of input items", "input")
    return list(raw)


def responses_to_chat(body: JSON) -> JSON:
    """Translate a Responses request into a chat.completions request."""
    for key in _REFUSED:
        if body.get(key):
            raise ResponsesRequestError(f"{key}: not supported for this model (its provider has no Responses API)", key)
    messages = _instructions(body.get("instructions"))
    for index, item in enumerate(input_items(body)):
        _add_item(messages, item, f"input[{index}]")
    if not messages:
        raise ResponsesRequestError("input: at least one input item is required", "input")
    chat: JSON = {"model": body.get("model"), "messages": messages}
    chat.update({key: body[key] for key in _SAME if body.get(key) is not None})
    if isinstance(body.get("max_output_tokens"), int):
        chat["max_tokens"] = body["max_output_tokens"]
    _add_tools(body, chat)
    _add_format(body.get("text"), chat)
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        chat["reasoning_effort"] = reasoning["effort"]
    if body.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}  # the response's usage comes from the last chunk
    return chat


def _instructions(value: Any) -> list[JSON]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [{"role": "system", "content": value}]
    if isinstance(value, list):  # a list of input items, as a reusable prompt's instructions are
        messages: list[JSON] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                _add_item(messages, item, f"instructions[{index}]")
        return messages
    raise ResponsesRequestError("instructions: expected a string", "instructions")


def _add_item(messages: list[JSON], item: JSON, param: str) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        messages.append(_message(item, param))
    elif kind == "function_call":
        _add_call(messages, item, param)
    elif kind == "function_call_output":
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            raise ResponsesRequestError(f"{param}.call_id: a string is required", f"{param}.call_id")
        messages.append({"role": "tool", "tool_call_id": call_id, "content": _output_text(item.get("output"))})
    elif kind == "reasoning":
        return  # chat has no field for it; see the module docstring
    else:
        raise ResponsesRequestError(
            f"{param}.type: input items of type {kind!r} are not supported for this model", f"{param}.type"
        )


def _message(item: JSON, param: str) -> JSON:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise ResponsesRequestError(
            f"{param}.role: expected one of 'user', 'assistant', 'system', 'developer'", f"{param}.role"
        )
    content = item.get("content")
    chat_role = "system" if role == "developer" else role  # every chat upstream knows "system"
    if isinstance(content, str):
        return {"role": chat_role, "content": content}
    if not isinstance(content, list):
        raise ResponsesRequestError(f"{param}.content: expected a string or an array", f"{param}.content")
    parts = [_part(part, f"{param}.content[{i}]") for i, part in enumerate(content) if isinstance(part, dict)]
    if role != "user" or all(part["type"] == "text" for part in parts):
        # Only user messages may carry images; a string is what every chat upstream accepts.
        return {"role": chat_role, "content": "\n".join(str(part.get("text", "")) for part in parts)}
    return {"role": chat_role, "content": parts}


def _part(part: JSON, param: str) -> JSON:
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text") or "")}
    if kind == "refusal":
        return {"type": "text", "text": str(part.get("refusal") or "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str):
            raise ResponsesRequestError(f"{param}: only images given by image_url are supported", param)
        image: JSON = {"url": url}
        if isinstance(part.get("detail"), str):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file" and isinstance(part.get("file_data"), str):
        file: JSON = {"file_data": part["file_data"]}
        if isinstance(part.get("filename"), str):
            file["filename"] = part["filename"]
        return {"type": "file", "file": file}
    raise ResponsesRequestError(f"{param}.type: content parts of type {kind!r} are not supported", f"{param}.type")


def _add_call(messages: list[JSON], item: JSON, param: str) -> None:
    call_id, name = item.get("call_id"), item.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise ResponsesRequestError(f"{param}: function_call needs call_id and name", param)
    arguments = item.get("arguments")
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else "{}"},
    }
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant":
        last.setdefault("tool_calls", []).append(call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n".join(str(p.get("text") or "") for p in output if isinstance(p, dict) and "text" in p)
    return orjson.dumps(output).decode()


def _add_tools(body: JSON, chat: JSON) -> None:
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        chat["tools"] = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(tools)]
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        chat["tool_choice"] = choice
    elif isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif choice is not None:
        raise ResponsesRequestError("tool_choice: only 'auto', 'none', 'required' or a function", "tool_choice")


def _tool(tool: Any, param: str) -> JSON:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else None
        raise ResponsesRequestError(
            f"{param}.type: built-in tools ({kind!r}) are not supported for this model; only function tools",
            f"{param}.type",
        )
    if not isinstance(tool.get("name"), str):
        raise ResponsesRequestError(f"{param}.name: a string is required", f"{param}.name")
    function: JSON = {"name": tool["name"], "parameters": tool.get("parameters") or {"type": "object"}}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    if isinstance(tool.get("strict"), bool):
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _add_format(text: Any, chat: JSON) -> None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return
    if fmt["type"] == "json_object":
        chat["response_format"] = {"type": "json_object"}
        return
    if fmt["type"] != "json_schema" or not isinstance(fmt.get("schema"), dict):
        raise ResponsesRequestError("text.format: expected text, json_object or json_schema with a schema",
                                    "text.format")
    schema: JSON = {"name": fmt.get("name") or "response", "schema": fmt["schema"]}
    for key in ("strict", "description"):
        if fmt.get(key) is not None:
            schema[key] = fmt[key]
    chat["response_format"] = {"type": "json_schema", "json_schema": schema}
