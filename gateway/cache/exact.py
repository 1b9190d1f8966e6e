"""Where cached answers live: an in-process LRU (bounded by entries and by bytes) or Redis (shared by replicas).

Contract of a ``Store``: ``get`` returns the stored bytes or None, ``put`` stores with a TTL, ``clear`` removes
the entries whose tag matches (``ns.prompt``, ``*`` for either part, see ``identity.tag_of``) and returns how
many went, ``stats`` says what it holds. ``get`` and ``put`` never raise: a store that fails is a miss (Redis
down: one warning, then it is left alone for ``RETRY_SECONDS`` before the next try, so that every request does
not pay a timeout).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gateway import redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("gateway.cache")
RETRY_SECONDS = 5.0
_SCAN_COUNT = 500


class Store(Protocol):
    kind: str

    async def get(self, key: str, tag: str) -> bytes | None: ...

    async def put(self, key: str, tag: str, value: bytes, ttl: float) -> None: ...

    async def clear(self, tag: str = "*.*") -> int: ...

    async def stats(self) -> dict[str, int | str]: ...


def tag_matches(pattern: str, tag: str) -> bool:
    wanted = pattern.split(".")
    return all(w in ("*", have) for w, have in zip(wanted, tag.split("."), strict=True))


@dataclass(slots=True)
class _Item:
    value: bytes
    tag: str
    expires: float


class MemoryStore:
    """An LRU dict: at most ``max_entries`` answers and ``max_bytes`` of them; the least recently used go first."""

    kind = "memory"

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._items: OrderedDict[str, _Item] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0

    async def get(self, key: str, tag: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item.expires <= time.monotonic():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return item.value

    async def put(self, key: str, tag: str, value: bytes, ttl: float) -> None:
        if len(value) > self._max_bytes:
            return
        if key in self._items:
            self._drop(key)
        self._items[key] = _Item(value, tag, time.monotonic() + ttl)
        self._bytes += len(value)
        while len(self._items) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._items)))

    async def clear(self, tag: str = "*.*") -> int:
        gone = [key for key, item in self._items.items() if tag_matches(tag, item.tag)]
        for key in gone:
            self._drop(key)
        return len(gone)

    async def stats(self) -> dict[str, int | str]:
        return {"backend": self.kind, "entries": len(self._items), "bytes": self._bytes}

    def _drop(self, key: str) -> None:
        item = self._items.pop(key)
        self._bytes -= len(item.value)


class RedisStore:
    """Answers in Redis under ``<prefix>cache:e:<tag>:<key>``, each with its TTL: every replica sees them."""

    kind = "redis"

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}cache:e:"
        self._down_until = 0.0
        self._warned = False

    async def get(self, key: str, tag: str) -> bytes | None:
        if not self._up():
            return None
        try:
            value = await self._redis.get(self._name(key, tag))
        except redis_errors.any_error() as exc:
            self._failed(exc)
            return None
        self._answered()
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, tag: str, value: bytes, ttl: float) -> None:
        if not self._up():
            return
        try:
            await self._redis.set(self._name(key, tag), value, px=max(1, int(ttl * 1000)))
        except redis_errors.any_error() as exc:
            self._failed(exc)
            return
        self._answered()

    async def clear(self, tag: str = "*.*") -> int:
        """Deletes by SCAN (an admin action, not the hot path); raises RedisError when Redis is down."""
        gone = 0
        async for name in self._redis.scan_iter(match=f"{self._prefix}{tag}:*", count=_SCAN_COUNT):
            gone += int(await self._redis.delete(name))
        return gone

    async def stats(self) -> dict[str, int | str]:
        entries = 0
        async for _ in self._redis.scan_iter(match=f"{self._prefix}*", count=_SCAN_COUNT):
            entries += 1
        return {"backend": self.kind, "entries": entries}

    def _name(self, key: str, tag: str) -> str:
        return f"{self._prefix}{tag}:{key}"

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        """One warning per outage; then Redis is not tried for ``RETRY_SECONDS``."""
        if not self._warned:
            logger.warning("cache: Redis failed (%s): requests miss the cache until it answers", type(exc).__name__)
            self._warned = True
        self._down_until = time.monotonic() + RETRY_SECONDS

    def _answered(self) -> None:
        if self._warned:
            logger.warning("cache: Redis answers again")
            self._warned = False
