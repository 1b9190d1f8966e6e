"""Tell every replica that something cached in memory changed (a key revoked, a prompt label moved).

With Redis, a message on a pub/sub channel reaches every replica at once. Without it there is only this
process, so a publish calls the local subscribers directly. Caches should also refresh on a timer, which covers
a replica that missed a message while its Redis connection was down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from gateway.tasks import cancel_and_wait

if TYPE_CHECKING:
    from redis.asyncio import Redis

Handler = Callable[[str], Awaitable[None]]
CHANNEL_PREFIX = "gateway:invalidate:"
logger = logging.getLogger("gateway.bus")


class InvalidationBus:
    def __init__(self, redis: Redis | None = None) -> None:
        self._redis = redis
        self._handlers: dict[str, list[Handler]] = {}
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler(payload)`` whenever any replica publishes on ``topic``. Subscribe before ``start``."""
        self._handlers.setdefault(topic, []).append(handler)

    async def publish(self, topic: str, payload: str = "") -> None:
        if self._redis is not None:
            try:
                await self._redis.publish(CHANNEL_PREFIX + topic, payload)
                return
            except Exception as exc:  # Redis down: at least this replica learns of it
                logger.warning("could not publish %s on Redis (%s); only this replica is told", topic, exc)
        await self._dispatch(topic, payload)

    async def start(self) -> None:
        if self._redis is not None and self._handlers and self._task is None:
            self._task = asyncio.create_task(self._listen(), name="invalidation-bus")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _dispatch(self, topic: str, payload: str) -> None:
        for handler in self._handlers.get(topic, []):
            try:
                await handler(payload)
            except Exception:
                logger.exception("invalidation handler for %s failed", topic)

    async def _listen(self) -> None:
        assert self._redis is not None
        channels = [CHANNEL_PREFIX + topic for topic in self._handlers]
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(*channels)
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        channel = _text(message["channel"])
                        await self._dispatch(channel[len(CHANNEL_PREFIX) :], _text(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("invalidation bus lost Redis (%s); reconnecting in 1 s", exc)
                await asyncio.sleep(1.0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
