"""Answers between their two forms: a stream's chunks made into one body (to store), a body made into the
chunks of a live stream (to replay a hit to a streaming client).

A replayed chat stream has the shapes OpenAI sends: a role chunk, ``reasoning_content`` and content in pieces,
each tool call as a first delta (id, name) then its arguments in pieces, a finish chunk per choice, then a usage
chunk (the pipeline hides it from clients that did not ask, as it does for a live stream).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

_WORDS = re.compile(r"\s*\S+\s*|\s+")
WORDS_PER_PIECE = 3


def assemble(endpoint: str, payloads: list[bytes]) -> dict[str, Any] | None:
    """The whole body a stream's chunks add up to; None when the stream did not finish every choice, or
    cannot be made whole (logprobs, content that is not text)."""
    try:
        chunks = [orjson.loads(payload) for payload in payloads]
    except orjson.JSONDecodeError:
        return None
    first = next((c for c in chunks if isinstance(c, dict) and c.get("choices")), None)
    if first is None:
        return None
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for chunk in chunks:
        if not isinstance(chunk, dict):
            return None
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("logprobs") is not None:
                return None
            _add(choices.setdefault(int(choice.get("index") or 0), {}), choice, endpoint)
    if not choices or any(c.get("finish_reason") is None for c in choices.values()):
        return None
    body = _envelope(first, "chat.completion" if endpoint == "chat" else "text_completion")
    body["choices"] = [_whole(index, choices[index], endpoint) for index in sorted(choices)]
    if usage is not None:
        body["usage"] = usage
    return body


def chunks_of(endpoint: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of a live stream that says what ``body`` says."""
    envelope = _envelope(body, "chat.completion.chunk" if endpoint == "chat" else "text_completion")
    out: list[dict[str, Any]] = []
    for choice in body.get("choices") or ():
        deltas = _chat_deltas(choice) if endpoint == "chat" else _text_deltas(choice)
        out += [{**envelope, "choices": [delta]} for delta in deltas]
    if body.get("usage") is not None:
        out.append({**envelope, "choices": [], "usage": body["usage"]})
    return out


def has_tool_calls(body: dict[str, Any]) -> bool:
    for choice in body.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if choice.get("finish_reason") in ("tool_calls", "function_call"):
            return True
        if isinstance(message, dict) and (message.get("tool_calls") or message.get("function_call")):
            return True
    return False


def pieces(text: str) -> list[str]:
    words = _WORDS.findall(text)
    return ["".join(words[i : i + WORDS_PER_PIECE]) for i in range(0, len(words), WORDS_PER_PIECE)]


def _envelope(source: dict[str, Any], kind: str) -> dict[str, Any]:
    envelope = {"id": source.get("id"), "object": kind, "created": source.get("created"),
                "model": source.get("model")}
    if source.get("system_fingerprint") is not None:
        envelope["system_fingerprint"] = source["system_fingerprint"]
    return envelope


def _add(into: dict[str, Any], choice: dict[str, Any], endpoint: str) -> None:
    if choice.get("finish_reason") is not None:
        into["finish_reason"] = choice["finish_reason"]
    if endpoint != "chat":
        into["text"] = into.get("text", "") + str(choice.get("text") or "")
        return
    delta = choice.get("delta") or {}
    for field in ("content", "reasoning_content", "refusal"):
        if isinstance(delta.get(field), str):
            into[field] = into.get(field, "") + delta[field]
    for call in delta.get("tool_calls") or ():
        calls = into.setdefault("tool_calls", {})
        whole = calls.setdefault(int(call.get("index") or 0), {"function": {"name": "", "arguments": ""}})
        for name in ("id", "type"):
            if call.get(name):
                whole[name] = call[name]
        function = call.get("function") or {}
        whole["function"]["name"] += function.get("name") or ""
        whole["function"]["arguments"] += function.get("arguments") or ""


def _whole(index: int, parts: dict[str, Any], endpoint: str) -> dict[str, Any]:
    if endpoint != "chat":
        return {"index": index, "text": parts.get("text", ""), "logprobs": None,
                "finish_reason": parts["finish_reason"]}
    message: dict[str, Any] = {"role": "assistant", "content": parts.get("content"), "refusal": parts.get("refusal")}
    if "reasoning_content" in parts:
        message["reasoning_content"] = parts["reasoning_content"]
    if "tool_calls" in parts:
        message["tool_calls"] = [
            {"id": call.get("id"), "type": call.get("type", "function"), "function": call["function"]}
            for _, call in sorted(parts["tool_calls"].items())
        ]
    return {"index": index, "message": message, "logprobs": None, "finish_reason": parts["finish_reason"]}


def _chat_deltas(choice: dict[str, Any]) -> list[dict[str, Any]]:
    index = choice.get("index", 0)
    message = choice.get("message") or {}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"reasoning_content": piece} for piece in pieces(message.get("reasoning_content") or "")]
    deltas += [{"content": piece} for piece in pieces(message.get("content") or "")]
    deltas += [{"refusal": piece} for piece in pieces(message.get("refusal") or "")]
    for position, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        head = {"index": position, "id": call.get("id"), "type": "function",
                "function": {"name": function.get("name"), "arguments": ""}}
        deltas.append({"tool_calls": [head]})
        deltas += [{"tool_calls": [{"index": position, "function": {"arguments": piece}}]}
                   for piece in _slices(function.get("arguments") or "")]
    out = [{"index": index, "delta": delta, "logprobs": None, "finish_reason": None} for delta in deltas]
    out.append({"index": index, "delta": {}, "logprobs": None, "finish_reason": choice.get("finish_reason")})
    return out


def _text_deltas(choice: dict[str, Any]) -> list[dict[str, Any]]:
    index = choice.get("index", 0)
    out = [{"index": index, "text": piece, "logprobs": None, "finish_reason": None}
           for piece in pieces(choice.get("text") or "")]
    out.append({"index": index, "text": "", "logprobs": None, "finish_reason": choice.get("finish_reason")})
    return out


def _slices(text: str, size: int = 16) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]
