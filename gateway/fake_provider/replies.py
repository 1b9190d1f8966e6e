"""Deterministic OpenAI reply bodies and stream chunks: chat, completions, models, errors.

Pure functions: a request body (already parsed) goes in, a JSON-ready dict or a list
of SSE frames comes out. Every shape is valid against OpenAI's OpenAPI schemas
(``CreateChatCompletionResponse``, ``CreateChatCompletionStreamResponse``,
``CreateCompletionResponse``, ``ListModelsResponse``, ``Model``). The reply text is
``"Echo: " + <last user text>`` (``"Tool result: " + <content>`` after a tool
message); see :mod:`gateway.fake_provider.content` for the word, limit and schema rules.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    synthesize,
    word_count,
)

SYSTEM_FINGERPRINT = "fp_fake"
DONE = b"data: [DONE]\n\n"
MODEL_CREATED = 1_700_000_000
KNOWN_MODELS = (
    "fake-model",
    "gpt-4o-mini",
    "gpt-4o",
    "text-embedding-3-small",
    "claude-3-5-sonnet-20241022",
)
TOKEN_LOGPROB = -0.1
_FINISH_REASON: dict[Finish, str] = {
    "end": "stop",
    "stop_sequence": "stop",
    "length": "length",
}
_PER_MESSAGE_TOKENS = 3
# The real API's own ceiling; it also bounds the work one request can ask for.
MAX_CHOICES = 128


@dataclass(frozen=True, slots=True)
class ChatPlan:
    """What every choice of a chat reply says; ``text`` is None for a tool call."""

    text: Limited | None
    tool_call: ToolCall | None
    n: int
    prompt_tokens: int
    completion_tokens: int  # per choice
    top_logprobs: int | None  # None: logprobs were not asked for

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.text is None else _FINISH_REASON[self.text.finish]


def sse_data(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def plan_chat(body: Json) -> ChatPlan:
    messages = [message for message in body.get("messages") or [] if isinstance(message, dict)]
    prompt_tokens = sum(word_count(block_text(m.get("content"))) + _PER_MESSAGE_TOKENS for m in messages)
    last = messages[-1] if messages else {}
    after_tool = last.get("role") == "tool"
    source = block_text(last.get("content")) if after_tool else _last_user_text(messages)
    n = _choice_count(body)
    tool = None if after_tool else _chosen_tool(body, source, messages)
    if tool is not None:
        return ChatPlan(None, tool, n, prompt_tokens, max(word_count(tool.arguments), 1), None)
    reply = _formatted(body.get("response_format"), source, "Tool result: " if after_tool else "Echo: ")
    limit = as_limit(body.get("max_completion_tokens"), body.get("max_tokens"))
    limited = apply_limits(reply, limit, as_stops(body.get("stop")))
    top = (as_limit(body.get("top_logprobs")) or 0) if body.get("logprobs") is True else None
    return ChatPlan(limited, None, n, prompt_tokens, len(pieces(limited.text)), top)


def chat_completion(plan: ChatPlan, model: str, ident: str, created: int) -> Json:
    message: Json = {
        "role": "assistant",
        "content": None if plan.text is None else plan.text.text,
        "refusal": None,
        "annotations": [],
    }
    if plan.tool_call is not None:
        message["tool_calls"] = [_tool_call_json(plan.tool_call)]
    logprobs = None
    if plan.text is not None and plan.top_logprobs is not None:
        entries = [_token_logprob(piece, plan.top_logprobs) for piece in pieces(plan.text.text)]
        logprobs = {"content": entries, "refusal": None}
    choices = [
        {"index": index, "message": message, "logprobs": logprobs, "finish_reason": plan.finish_reason}
        for index in range(plan.n)
    ]
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
        "usage": usage(plan.prompt_tokens, plan.completion_tokens * plan.n),
    }


def chat_stream(plan: ChatPlan, model: str, ident: str, created: int, include_usage: bool) -> Frames:
    """Role chunk, one chunk per word (or argument fragment), finish chunk; per choice."""
    base: Json = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if include_usage:
        base["usage"] = None
    frames: list[bytes] = []
    for index in range(plan.n):
        frames.extend(_choice_chunks(base, index, plan))
    if include_usage:
        totals = usage(plan.prompt_tokens, plan.completion_tokens * plan.n)
        frames.append(sse_data({**base, "choices": [], "usage": totals}))
    frames.append(DONE)
    return Frames(frames, preamble=1)


def _choice_chunks(base: Json, index: int, plan: ChatPlan) -> list[bytes]:
    def chunk(delta: Json, finish: str | None = None, logprobs: Json | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return sse_data({**base, "choices": [choice]})

    call = plan.tool_call
    if call is not None:
        opening = {**_tool_call_json(call), "index": 0}
        opening["function"] = {"name": call.name, "arguments": ""}
        head = chunk({"role": "assistant", "content": None, "tool_calls": [opening]})
        body = [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
            for part in fragments(call.arguments)
        ]
    else:
        head = chunk({"role": "assistant", "content": ""})
        top = plan.top_logprobs
        body = [
            chunk(
                {"content": piece},
                logprobs=None if top is None else {"content": [_token_logprob(piece, top)], "refusal": None},
            )
            for piece in pieces(plan.text.text if plan.text is not None else "")
        ]
    return [head, *body, chunk({}, plan.finish_reason)]


def completion_texts(body: Json) -> tuple[list[Limited], int]:
    """One limited text per choice (``n`` per prompt, prompt-major) and the prompt tokens."""
    prompts = _prompts(body.get("prompt"))
    n = _choice_count(body)
    limit = as_limit(body.get("max_tokens"))
    stops = as_stops(body.get("stop"))
    texts: list[Limited] = []
    for prompt in prompts:
        texts.extend([apply_limits("Echo: " + prompt, limit, stops)] * n)
    return texts, sum(word_count(prompt) for prompt in prompts)


def completion(body: Json, model: str, ident: str, created: int) -> Json:
    texts, prompt_tokens = completion_texts(body)
    top = as_limit(body.get("logprobs"))
    choices = [
        {
            "text": text.text,
            "index": index,
            "logprobs": None if top is None else _completion_logprobs(text.text),
            "finish_reason": _FINISH_REASON[text.finish],
        }
        for index, text in enumerate(texts)
    ]
    completion_tokens = sum(len(pieces(text.text)) for text in texts)
    reply = _completion_base(ident, created, model)
    reply.update(choices=choices, usage=usage(prompt_tokens, completion_tokens))
    return reply


def completion_stream(body: Json, model: str, ident: str, created: int, include_usage: bool) -> Frames:
    texts, prompt_tokens = completion_texts(body)
    base = _completion_base(ident, created, model)
    if include_usage:
        base["usage"] = None
    frames: list[bytes] = []
    for index, text in enumerate(texts):
        for piece in pieces(text.text):
            choice = {"text": piece, "index": index, "logprobs": None, "finish_reason": None}
            frames.append(sse_data({**base, "choices": [choice]}))
        final = {"text": "", "index": index, "logprobs": None, "finish_reason": _FINISH_REASON[text.finish]}
        frames.append(sse_data({**base, "choices": [final]}))
    if include_usage:
        completion_tokens = sum(len(pieces(text.text)) for text in texts)
        frames.append(sse_data({**base, "choices": [], "usage": usage(prompt_tokens, completion_tokens)}))
    frames.append(DONE)
    return Frames(frames, preamble=0)


def model_object(model_id: str) -> Json:
    return {"id": model_id, "object": "model", "created": MODEL_CREATED, "owned_by": "fake-provider"}


def model_list(seen: Iterable[str]) -> Json:
    ids = dict.fromkeys([*KNOWN_MODELS, *seen])
    return {"object": "list", "data": [model_object(model_id) for model_id in ids]}


def usage(prompt_tokens: int, completion_tokens: int) -> Json:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def openai_error(status: int, message: str) -> Json:
    if status == 401:
        kind, code = "invalid_request_error", "invalid_api_key"
    elif status == 429:
        kind, code = "requests", "rate_limit_exceeded"
    elif status == 404:
        kind, code = "invalid_request_error", "model_not_found"
    else:
        kind, code = ("server_error" if status >= 500 else "invalid_request_error"), None
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _choice_count(body: Json) -> int:
    return min(max(as_limit(body.get("n")) or 1, 1), MAX_CHOICES)


def _last_user_text(messages: list[Json]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return block_text(message.get("content"))
    return ""


def _chosen_tool(body: Json, text: str, messages: list[Json]) -> ToolCall | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or choice == "none":
        return None
    functions = [
        tool["function"]
        for tool in tools
        if isinstance(tool, dict)
        and isinstance(tool.get("function"), dict)
        and isinstance(tool["function"].get("name"), str)
    ]
    if not functions:
        return None
    wanted = choice.get("function") if isinstance(choice, dict) else None
    name = wanted.get("name") if isinstance(wanted, dict) else None
    picked = next((function for function in functions if function["name"] == name), functions[0])
    return make_tool_call(picked["name"], picked.get("parameters"), text, messages)


def _formatted(response_format: Any, source: str, prefix: str) -> str:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_object":
        return orjson.dumps({"echo": source}).decode()
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return orjson.dumps(synthesize(schema, source) if schema is not None else {}).decode()
    return prefix + source


def _tool_call_json(call: ToolCall) -> Json:
    return {
        "id": "call_" + call.id_suffix,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _token_logprob(piece: str, top: int) -> Json:
    encoded = list(piece.encode())
    alternatives = [
        {
            "token": piece if rank == 0 else f"alt{rank}",
            "logprob": TOKEN_LOGPROB - rank,
            "bytes": encoded if rank == 0 else list(f"alt{rank}".encode()),
        }
        for rank in range(top)
    ]
    return {"token": piece, "logprob": TOKEN_LOGPROB, "bytes": encoded, "top_logprobs": alternatives}


def _completion_logprobs(text: str) -> Json:
    tokens = pieces(text)
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token)
    return {
        "tokens": tokens,
        "token_logprobs": [TOKEN_LOGPROB] * len(tokens),
        "top_logprobs": [{token: TOKEN_LOGPROB} for token in tokens],
        "text_offset": offsets,
    }


def _completion_base(ident: str, created: int, model: str) -> Json:
    return {
        "id": ident,
        "object": "text_completion",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def _prompts(prompt: Any) -> list[str]:
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt:
        if all(isinstance(item, int) for item in prompt):
            return [" ".join(map(str, prompt))]
        return [
            item if isinstance(item, str) else " ".join(map(str, item))
            for item in prompt
            if isinstance(item, str | list)
        ]
    return [""]
