"""The semantic cache: embed the request's text, find the nearest stored request of its namespace, check that
they agree (``checks``), and in adaptive mode decide from what past comparisons showed (``adaptive``).

Lookups never raise and never wait past their deadline: an embedder that fails, is busy or is late, and a Redis
that does not answer, make a miss. Entries are shared between replicas through Redis when there is one: each
namespace is a Redis list of entries (vector, text, key of the answer) that every replica appends to and reads
new entries from (at most every ``SYNC_SECONDS`` per namespace), into its own in-process index. That works on
any Redis (no search module needed), keeps the search in-process where it is fast, and a replica sees another's
entry within a second. The answers themselves are in the exact store (Redis), so a semantic hit on one replica
serves what another stored.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from gateway import redis_errors
from gateway.cache.adaptive import Decision, Evidence, decide
from gateway.cache.checks import CHECKS, disagreement, features
from gateway.cache.embedder import Embedder, EmbedderBusy
from gateway.cache.identity import Identity
from gateway.cache.index import Entry, Namespace, VectorIndex
from gateway.cache.policy import Policy

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("gateway.cache")
SYNC_SECONDS = 0.5
INLINE_SEARCH = 20_000  # entries up to which a namespace is searched on the event loop (about a millisecond)
_CANDIDATES = 4


@dataclass(slots=True)
class Embedding:
    """A request's embedding: started by its lookup, reused by its filing."""

    task: asyncio.Task[np.ndarray | None] = field(init=False)
    refused: bool = False  # the embedder would not take it (nothing was computed)


@dataclass(slots=True)
class Found:
    entry: Entry
    similarity: float
    decision: Decision  # "hit" (serve it), "explore" (forward, then compare), "miss" (adaptive: not sure)


class SemanticCache:
    def __init__(
        self,
        embedder: Embedder,
        *,
        per_namespace: int,
        explore_rate: float = 0.1,
        redis: Redis | None = None,
        prefix: str = "gateway:",
        checks: tuple[str, ...] = CHECKS,
    ) -> None:
        self.embedder = embedder
        self._per_namespace = per_namespace
        self._index: VectorIndex | None = None  # made on the first vector: its width is the embedder's
        self._explore_rate = explore_rate
        self._redis = redis
        self._prefix = f"{prefix}cache:v:"
        self._origin = uuid.uuid4().hex[:12]  # this process: its own shared entries are not read back
        self._checks = checks
        self._evidence: dict[str, Evidence] = {}  # adaptive: per namespace, and "" for the whole process
        self._warned: set[str] = set()
        # Requests not looked up (lookup_refused/_late/_failed) or not filed (filing), for /admin/cache
        self.skipped: Counter[str] = Counter()

    async def vector(self, text: str, seconds: float, *, wait: bool = False) -> np.ndarray | None:
        """``text`` embedded, or None when the embedder fails, refuses or takes longer than ``seconds``."""
        try:
            return await asyncio.wait_for(self.embedder.embed(text, wait=wait), seconds)
        except Exception as exc:  # any failure of any embedder is a miss, said once per kind
            self._warn_once(f"embedding with {self.embedder.name} failed or was late", exc)
            return None

    def embedding(self, text: str) -> Embedding:
        """Start embedding a request's text for its lookup; its filing reuses the same vector (``filing_vector``),
        so that a request never costs two embeddings, even when the lookup gave up waiting for it."""
        embedding = Embedding()
        embedding.task = asyncio.create_task(self._first(text, embedding))
        return embedding

    async def lookup_vector(self, embedding: Embedding, seconds: float) -> np.ndarray | None:
        """The lookup's vector, or None (counted) when refused, failed or later than ``seconds``."""
        try:
            vector = await asyncio.wait_for(asyncio.shield(embedding.task), seconds)
        except TimeoutError as exc:  # the embedding goes on: the request's filing uses it
            self.skipped["lookup_late"] += 1
            self._warn_once(f"embedding with {self.embedder.name} failed or was late", exc)
            return None
        if vector is None:
            self.skipped["lookup_refused" if embedding.refused else "lookup_failed"] += 1
        return vector

    async def filing_vector(self, embedding: Embedding | None, text: str, seconds: float) -> np.ndarray | None:
        """The vector to file a request under: its lookup's (awaited if still running), or a new one when the
        request was not looked up or its lookup was refused (nothing was computed); None (counted) when none."""
        vector = None
        if embedding is not None:
            with contextlib.suppress(TimeoutError):
                vector = await asyncio.wait_for(asyncio.shield(embedding.task), seconds)
        if embedding is None or (vector is None and embedding.refused):
            vector = await self.vector(text, seconds, wait=True)
        if vector is None:
            self.skipped["filing"] += 1
        return vector

    async def _first(self, text: str, embedding: Embedding) -> np.ndarray | None:
        try:
            return await self.embedder.embed(text)
        except EmbedderBusy:
            embedding.refused = True
        except Exception as exc:  # a failure is a miss, said once per kind
            self._warn_once(f"embedding with {self.embedder.name} failed or was late", exc)
        return None

    async def aclose(self) -> None:
        await self.embedder.aclose()

    async def lookup(self, ident: Identity, policy: Policy, vector: np.ndarray, seconds: float) -> Found | None:
        """The nearest agreeing entry above the threshold, or None; never raises, never waits past ``seconds``."""
        try:
            return await asyncio.wait_for(self._lookup(ident, policy, vector), seconds)
        except Exception as exc:  # the vector store failing is a miss, never an error
            self._warn_once("semantic lookup failed or was late", exc)
            return None

    async def add(self, ident: Identity, policy: Policy, vector: np.ndarray) -> None:
        """File the request (its answer is already in the exact store under ``ident.key``)."""
        assert ident.text is not None and ident.namespace is not None
        now = time.time()
        entry = Entry(ident.key, ident.tag, ident.text, features(ident.text), now, now + policy.ttl)
        self._space(ident.namespace, vector).add(entry, vector)
        if self._redis is not None:
            await self._share(ident.namespace, entry, vector, policy.ttl)

    def observe(self, namespace: str, found: Found, agreed: bool, delta: float) -> None:
        """What an explored would-be hit showed: the fresh answer agreed with the cached one, or not."""
        found.entry.observations.append((found.similarity, agreed))
        for name in (namespace, ""):
            self._evidence_of(name, delta).add(found.similarity, agreed)

    def clear(self, tag_pattern: str = "*.*") -> int:
        return self._index.clear(tag_pattern) if self._index is not None else 0

    @property
    def observations(self) -> int:
        """Adaptive mode: how many explored would-be hits were compared with a fresh answer (this process)."""
        evidence = self._evidence.get("")
        return len(evidence.observations) if evidence is not None else 0

    @property
    def entries(self) -> int:
        return self._index.entries if self._index is not None else 0

    async def _lookup(self, ident: Identity, policy: Policy, vector: np.ndarray) -> Found | None:
        assert ident.text is not None and ident.namespace is not None
        space = self._space(ident.namespace, vector)
        if self._redis is not None and time.monotonic() - space.synced_at > SYNC_SECONDS:
            await self._sync(ident.namespace, space)
        asked = features(ident.text)
        oldest = time.time() - policy.max_age if policy.max_age is not None else None
        if len(space.entries) > INLINE_SEARCH:  # a large product in a thread: the deadline can then abandon it
            candidates = await asyncio.to_thread(space.search, vector, _CANDIDATES)
        else:
            candidates = space.search(vector, _CANDIDATES)
        for similarity, entry in candidates:
            if similarity < policy.threshold:
                break
            if oldest is not None and entry.created < oldest:
                continue
            if disagreement(asked, entry.features, self._checks) is None:
                return Found(entry, similarity, self._decide(ident.namespace, entry, similarity, policy))
        return None

    def _decide(self, namespace: str, entry: Entry, similarity: float, policy: Policy) -> Decision:
        if policy.delta is None:
            return "hit"
        own = Evidence(policy.delta)
        for observed in entry.observations:
            own.add(*observed)
        layers = (own, self._evidence_of(namespace, policy.delta), self._evidence_of("", policy.delta))
        return decide(similarity, layers, self._explore_rate, random.Random())

    def _evidence_of(self, namespace: str, delta: float) -> Evidence:
        evidence = self._evidence.get(namespace)
        if evidence is None or evidence.delta != delta:
            evidence = self._evidence[namespace] = Evidence(delta)
        return evidence

    def _space(self, namespace: str, vector: np.ndarray) -> Namespace:
        if self._index is None:
            self._index = VectorIndex(int(vector.shape[0]), self._per_namespace)
        return self._index.namespace(namespace)

    async def _share(self, namespace: str, entry: Entry, vector: np.ndarray, ttl: float) -> None:
        assert self._redis is not None
        packed = orjson.dumps({
            "o": self._origin, "k": entry.key, "g": entry.tag, "t": entry.text, "c": entry.created,
            "e": entry.expires, "v": base64.b64encode(vector.astype(np.float32).tobytes()).decode(),
        })
        name = self._prefix + namespace
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(name, packed)
                pipe.expire(name, max(1, int(ttl)))  # the list lives as long as its newest entry
                await pipe.execute()
        except redis_errors.any_error() as exc:
            self._warn_once("sharing a semantic entry through Redis failed", exc)

    async def _sync(self, namespace: str, space: Namespace) -> None:
        """Read the entries other replicas shared since the last read."""
        assert self._redis is not None
        space.synced_at = time.monotonic()
        try:
            fresh: list[Any] = await self._redis.lrange(self._prefix + namespace, space.synced, -1)
        except redis_errors.any_error() as exc:
            self._warn_once("reading shared semantic entries from Redis failed", exc)
            return
        space.synced += len(fresh)
        for packed in fresh:
            item = orjson.loads(packed)
            if item["o"] == self._origin or item["e"] <= time.time():
                continue
            vector = np.frombuffer(base64.b64decode(item["v"]), dtype=np.float32)
            space.add(Entry(item["k"], item["g"], item["t"], features(item["t"]), item["c"], item["e"]), vector)

    def _warn_once(self, what: str, exc: BaseException) -> None:
        kind = f"{what}: {type(exc).__name__}"
        if kind not in self._warned:
            self._warned.add(kind)
            logger.warning("cache: %s (%s); such lookups are misses", what, type(exc).__name__)
