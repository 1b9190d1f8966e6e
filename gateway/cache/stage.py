"""The cache stage: answers a request from the cache, or files the upstream's answer for the next one.

``before``: takes the request's ``cache`` controls out of the body (the upstream never sees them), resolves the
policy (``policy``), and unless the policy is off looks up the exact key, then (semantic mode) the nearest
agreeing stored request. A hit returns the stored answer (a stream's replay for a streaming client) and sets
``ctx.cache_status`` to ``hit`` or ``semantic-hit`` with ``ctx.cache_similarity``; otherwise ``miss``,
``refresh`` (no-cache or the force-refresh header) or ``bypass`` (a request the cache does not serve). The
``x-gateway-cache`` header says the same; hits add ``x-gateway-cache-similarity`` and ``x-gateway-cache-key``.
``answer`` / ``stream_filter``: keep the upstream's answer as it came (before the guardrails restore anything).
``after``: files it, in a background task, only for a 200 with no error, a stream that ended cleanly, and an
answer without tool calls unless the policy allows them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import orjson

from gateway.bus import CACHE
from gateway.cache.exact import MemoryStore, RedisStore, Store
from gateway.cache.identity import CACHED_ENDPOINTS, Identity, identity, tag_of
from gateway.cache.policy import Policy, base_policy, with_controls
from gateway.cache.replay import assemble, chunks_of, has_tool_calls
from gateway.config.models import CacheSettings
from gateway.pipeline.context import RequestContext
from gateway.pipeline.stages import StageParts, StreamFilter
from gateway.pipeline.usage import Usage

if TYPE_CHECKING:
    from gateway.cache.semantic import Embedding, Found, SemanticCache

NAME = "cache"
STATUS_HEADER = "x-gateway-cache"
SIMILARITY_HEADER = "x-gateway-cache-similarity"
KEY_HEADER = "x-gateway-cache-key"
BACKGROUND_TIMEOUT = 30.0  # seconds an embedding for filing may take (off the request path)
MAX_BACKGROUND = 256  # stores in flight; past that an answer is not filed (the request never waits for it)
logger = logging.getLogger("gateway.cache")


@dataclass(slots=True)
class Pending:
    """One request's cache state from ``before`` to ``after``."""

    ident: Identity
    policy: Policy
    embedding: Embedding | None = None  # started by the lookup, reused by the filing
    answer: bytes | None = None
    chunks: list[bytes] | None = None
    size: int = 0
    ended: bool = False
    explored: Found | None = None


class Collector:
    """Keeps a stream's chunks as they pass; ``end`` (a clean end only) marks the stream whole."""

    def __init__(self, pending: Pending, limit: int) -> None:
        self._pending = pending
        self._limit = limit
        pending.chunks = []

    async def feed(self, payloads: list[bytes]) -> list[bytes]:
        pending = self._pending
        if pending.chunks is not None:
            pending.size += sum(len(p) for p in payloads)
            if pending.size > self._limit:
                pending.chunks = None  # too large to keep: the stream is not stored
            else:
                pending.chunks.extend(payloads)
        return payloads

    async def end(self) -> list[bytes]:
        self._pending.ended = True
        return []


class CacheStage:
    name = NAME

    def __init__(self, settings: CacheSettings, store: Store, semantic: SemanticCache | None = None) -> None:
        self._settings = settings
        self.store = store
        self.semantic = semantic
        self._enabled = _uses(settings, "exact") or _uses(settings, "semantic")
        self._timeout = settings.lookup_timeout_ms / 1000
        self._tasks: set[asyncio.Task[None]] = set()
        self._dropped = 0  # answers not filed because MAX_BACKGROUND filings were already in flight

    @classmethod
    async def start(cls, parts: StageParts) -> Self:
        settings = parts.config.gateway.cache
        store: Store = MemoryStore(settings.max_entries, settings.max_bytes)
        if parts.redis is not None and settings.backend in ("auto", "redis"):
            store = RedisStore(parts.redis, parts.config.gateway.redis_key_prefix)
        elif settings.backend == "redis":
            logger.warning("cache: backend redis needs gateway.redis_url; using the in-process cache")
        semantic = None
        if _uses(settings, "semantic"):
            from gateway.cache.semantic_setup import semantic_cache  # noqa: PLC0415 - numpy: only semantic pays

            semantic = semantic_cache(parts, settings)
        stage = cls(settings, store, semantic)
        parts.bus.subscribe(CACHE, stage.on_invalidate)
        if semantic is not None:
            stage._background(stage._warm_up())
        return stage

    async def before(self, ctx: RequestContext) -> bytes | None:
        controls = ctx.body.pop("cache", None)
        if not self._enabled:
            return None
        policy = base_policy(self._settings, ctx)
        if policy.mode == "off":
            return None
        policy = with_controls(policy, controls, ctx)
        if ctx.endpoint not in CACHED_ENDPOINTS or not (policy.lookup or policy.store):
            _say(ctx, "bypass")
            return None
        pending = Pending(identity(ctx, policy, self._settings.scope), policy)
        ctx.keep(NAME, pending)
        if not policy.lookup:
            _say(ctx, "refresh")
            return None
        answer = await self._lookup(ctx, pending)
        if answer is None:
            _say(ctx, "miss")
        return answer

    async def answer(self, ctx: RequestContext, body: bytes) -> bytes:
        pending = _peek(ctx)
        if pending is not None and pending.policy.store:
            pending.answer = body
        return body

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        pending = _peek(ctx)
        if pending is None or not pending.policy.store:
            return None
        return Collector(pending, self._settings.max_entry_bytes)

    async def after(self, ctx: RequestContext) -> None:
        pending = ctx.take(NAME)
        if not isinstance(pending, Pending) or ctx.cache_status in ("hit", "semantic-hit"):
            return
        if ctx.status != 200 or ctx.error is not None or not pending.policy.store:
            return  # errors of any status are never filed
        body = self._answer_of(ctx, pending)
        if body is not None:
            self._background(self._file(ctx.endpoint, pending, body))

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.semantic is not None:
            await self.semantic.aclose()

    async def clear(self, namespace: str | None = None, prompt: str | None = None) -> int:
        """Remove the entries of ``namespace`` and/or ``prompt`` (all when both are None); returns how many."""
        tag = tag_of(namespace if namespace is not None else "*", prompt if prompt is not None else "*")
        gone = await self.store.clear(tag)
        if self.semantic is not None:
            gone += self.semantic.clear(tag)
        return gone

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = dict(await self.store.stats())
        if self.semantic is not None:
            stats["semantic_entries"] = self.semantic.entries
            stats["observations"] = self.semantic.observations
            stats["embedder"] = self.semantic.embedder.name
            stats["embedder_stats"] = self.semantic.embedder.stats()
            # requests the semantic cache did not look up or file (busy, late, failed); never silent
            stats["semantic_skipped"] = dict(self.semantic.skipped)
        stats["filings_dropped"] = self._dropped
        return stats

    async def on_invalidate(self, payload: str) -> None:
        """A DELETE /admin/cache or ``gateway cache clear`` anywhere: drop what this process holds."""
        try:
            selector = orjson.loads(payload) if payload else {}
        except orjson.JSONDecodeError:
            selector = {}
        await self.clear(selector.get("namespace"), selector.get("prompt"))

    async def _lookup(self, ctx: RequestContext, pending: Pending) -> bytes | None:
        ident = pending.ident
        stored = await self._get(ident.key, ident.tag)
        if stored is not None and (answer := _serve(ctx, pending.policy, stored)) is not None:
            _say(ctx, "hit", 1.0, ident.key)
            return answer
        if self.semantic is None or ident.text is None:
            return None
        started = time.perf_counter()
        pending.embedding = self.semantic.embedding(ident.text)
        vector = await self.semantic.lookup_vector(pending.embedding, self._timeout)
        if vector is None:
            return None
        left = max(self._timeout - (time.perf_counter() - started), 0.001)
        found = await self.semantic.lookup(ident, pending.policy, vector, left)
        if found is None or found.decision == "miss":
            return None
        if found.decision == "explore":
            pending.explored = found
            return None
        stored = await self._get(found.entry.key, found.entry.tag)
        answer = _serve(ctx, pending.policy, stored) if stored is not None else None
        if answer is not None:
            _say(ctx, "semantic-hit", found.similarity, found.entry.key)
        return answer

    async def _get(self, key: str, tag: str) -> bytes | None:
        try:
            return await asyncio.wait_for(self.store.get(key, tag), self._timeout)
        except TimeoutError:
            return None

    def _answer_of(self, ctx: RequestContext, pending: Pending) -> dict[str, Any] | None:
        """What to file: the whole body (a stream's chunks assembled), or the chunks of a logprobs stream."""
        if ctx.stream:
            if not pending.ended or not pending.chunks:
                return None  # a cut stream, or one too large to keep
            if pending.ident.raw:
                return {"chunks": [orjson.loads(p) for p in pending.chunks]}
            body = assemble(ctx.endpoint, pending.chunks)
            if body is not None and "usage" not in body and ctx.usage is not None:
                body["usage"] = _usage_json(ctx.usage)  # the usage chunk was hidden from this client
        else:
            body = _parsed(pending.answer)
        if body is None or (has_tool_calls(body) and not pending.policy.tool_calls):
            return None
        return {"body": body}

    async def _file(self, endpoint: str, pending: Pending, entry: dict[str, Any]) -> None:
        ident, policy = pending.ident, pending.policy
        value = orjson.dumps({"at": time.time(), **entry})
        if len(value) > self._settings.max_entry_bytes:
            return
        await self.store.put(ident.key, ident.tag, value, policy.ttl)
        agreed = False
        if pending.explored is not None and self.semantic is not None and policy.delta is not None:
            agreed = await self._agrees(pending.explored, entry, ident, policy.delta)
        if self.semantic is not None and ident.text is not None and not agreed:  # agreed: the old entry does
            vector = await self.semantic.filing_vector(pending.embedding, ident.text, BACKGROUND_TIMEOUT)
            if vector is not None:
                await self.semantic.add(ident, policy, vector)

    async def _agrees(self, found: Found, fresh: dict[str, Any], ident: Identity, delta: float) -> bool:
        """Adaptive mode: did the upstream say what the cache would have served? Either way, it is learned."""
        assert self.semantic is not None and ident.namespace is not None
        stored = await self.store.get(found.entry.key, found.entry.tag)
        cached = _parsed(stored)
        texts = [_text_of(cached.get("body") if cached else None), _text_of(fresh.get("body"))]
        vectors = [await self.semantic.vector(text, BACKGROUND_TIMEOUT, wait=True) for text in texts]
        if vectors[0] is None or vectors[1] is None:
            return False
        agreed = float(vectors[0] @ vectors[1]) >= self._settings.answer_agreement
        self.semantic.observe(ident.namespace, found, agreed, delta)
        return agreed

    async def _warm_up(self) -> None:
        """Load the embedder now, so the first lookups are not misses for its load time."""
        if self.semantic is not None:
            await self.semantic.vector("warm up", 120.0, wait=True)

    def _background(self, work: Any) -> None:
        if len(self._tasks) >= MAX_BACKGROUND:
            work.close()
            self._dropped += 1
            return
        task = asyncio.create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(work: Any) -> None:
        try:
            await work
        except Exception:  # filing is best effort; the request has been answered
            logger.exception("cache: filing an answer failed")


def _uses(settings: CacheSettings, mode: str) -> bool:
    layers = [settings, *settings.models.values(), *settings.teams.values(), *settings.keys.values(),
              *settings.prompts.values()]
    return any(layer.mode == mode for layer in layers)


def _peek(ctx: RequestContext) -> Pending | None:
    pending = ctx.stage_state.get(NAME) if ctx.stage_state else None
    return pending if isinstance(pending, Pending) else None


def _say(ctx: RequestContext, status: str, similarity: float | None = None, key: str | None = None) -> None:
    ctx.cache_status = status
    ctx.response_headers[STATUS_HEADER] = status
    if similarity is not None and key is not None:
        ctx.cache_similarity = round(similarity, 4)
        ctx.response_headers[SIMILARITY_HEADER] = f"{similarity:.4f}"
        ctx.response_headers[KEY_HEADER] = key[:32]


def _serve(ctx: RequestContext, policy: Policy, stored: bytes) -> bytes | None:
    """The stored entry as this request wants it (a body, or a stream's chunks), or None when it is too old."""
    entry = _parsed(stored)
    if entry is None or (policy.max_age is not None and time.time() - float(entry["at"]) > policy.max_age):
        return None
    if "chunks" in entry:
        return orjson.dumps(entry["chunks"]) if ctx.stream else None
    body = entry["body"]
    return orjson.dumps(chunks_of(ctx.endpoint, body) if ctx.stream else body)


def _parsed(value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _text_of(body: Any) -> str:
    choices = body.get("choices") if isinstance(body, dict) else None
    parts = []
    for choice in choices or ():
        message = choice.get("message") or {}
        parts.append(str(message.get("content") or choice.get("text") or ""))
    return "\n".join(parts)
