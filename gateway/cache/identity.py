"""What a cached answer is filed under, so that it is served only to a request it answers.

The exact key hashes everything in the body that can change the answer (all of it but the fields listed in
``NOT_IN_KEY``: streaming, usage options, the end user and metadata), the model as routed, the endpoint, the
prompt name and version that served the request, the scope (the key's team by default) and the request's own
namespace. The semantic namespace hashes the same things but the text a semantic lookup compares (the last user
message): a semantic hit must match everything else exactly (system prompt, earlier turns, tools, parameters).

A request asking for logprobs is cached as it came (its stream as chunks, its body as a body): its key includes
``stream``. Every other answer is kept in one form, a whole body, and replayed as a stream when asked for one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from gateway.cache.policy import Policy
from gateway.pipeline.context import Principal, RequestContext

NOT_IN_KEY = frozenset({"stream", "stream_options", "user", "metadata", "cache", "store"})
CACHED_ENDPOINTS = frozenset({"chat", "completions", "embeddings"})
Scope = Literal["team", "key", "shared"]


@dataclass(frozen=True, slots=True)
class Identity:
    key: str  # the exact key (hex sha256)
    tag: str  # the namespace and prompt, hashed: what DELETE /admin/cache selects on
    raw: bool  # kept as it came (logprobs): a stream as chunks
    text: str | None = None  # the semantic lookup's text, when the request may be looked up semantically
    namespace: str | None = None  # the semantic namespace (hex sha256)


def identity(ctx: RequestContext, policy: Policy, scope: Scope) -> Identity:
    body = {name: value for name, value in ctx.body.items() if name not in NOT_IN_KEY}
    raw = bool(body.get("logprobs")) or "top_logprobs" in body
    common = {
        "endpoint": ctx.endpoint,
        "model": ctx.model,
        "prompt": [ctx.prompt_name, ctx.prompt_version],
        "scope": scope_of(ctx.principal, scope),
        "namespace": policy.namespace,
        "stream": ctx.stream if raw else None,
    }
    key = _digest({**common, "body": body})
    tag = tag_of(policy.namespace, ctx.prompt_name)
    text = semantic_text(ctx.endpoint, body, policy) if policy.mode == "semantic" and not raw else None
    if text is None:
        return Identity(key, tag, raw)
    namespace = _digest({**common, "body": _without_text(ctx.endpoint, body), "semantic": True})
    return Identity(key, tag, raw, text, namespace)


def scope_of(principal: Principal, scope: Scope) -> str:
    """Who shares entries: everyone (``shared``), one key, or the key's team (a key without a team: the key)."""
    if scope == "shared":
        return "shared"
    if scope == "team" and principal.team_id is not None:
        return f"team:{principal.team_id}"
    return f"key:{principal.key_id or 'anonymous'}"


def tag_of(namespace: str | None, prompt: str | None) -> str:
    """The hashed namespace and prompt name, ``<ns>.<prompt>``; ``*`` in either place matches any."""
    return f"{_short(namespace)}.{_short(prompt)}"


def semantic_text(endpoint: str, body: dict[str, Any], policy: Policy) -> str | None:
    """The last user message's text, or None when the request is not looked up semantically (embeddings,
    conversations with earlier turns or tools unless the policy allows them, content that is not text)."""
    if endpoint == "completions":
        prompt = body.get("prompt")
        return prompt if isinstance(prompt, str) and prompt.strip() else None
    if endpoint != "chat":
        return None
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    if not policy.tool_calls and (body.get("tools") or body.get("functions") or _has_role(messages, "tool")):
        return None
    turns = sum(1 for m in messages if isinstance(m, dict) and m.get("role") in ("user", "assistant"))
    if not policy.multi_turn and turns > 1:
        return None
    last = messages[-1]
    return _text(last.get("content")) if last.get("role") == "user" else None


def _without_text(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    if endpoint == "completions":
        return {**body, "prompt": None}
    messages = list(body["messages"])
    messages[-1] = {**messages[-1], "content": None}
    return {**body, "messages": messages}


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content if content.strip() else None
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        if all(isinstance(p, dict) and p.get("type") == "text" for p in content) and parts:
            return "\n".join(str(part) for part in parts)
    return None  # images, audio, files: an exact match only


def _has_role(messages: list[Any], role: str) -> bool:
    return any(isinstance(m, dict) and m.get("role") == role for m in messages)


def _digest(value: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _short(value: str | None) -> str:
    if value == "*":
        return "*"
    return hashlib.sha256((value or "").encode()).hexdigest()[:12]
