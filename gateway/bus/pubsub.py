"""The bus over Redis pub/sub: a message reaches every replica that shares the Redis, at once.

Imported only when the config names a Redis (importing ``redis`` costs a noticeable part of a second). The channel
of a topic is ``<gateway.redis_key_prefix>invalidate:<topic>`` (``gateway:invalidate:keys`` by default), so gateways
that share one Redis under different prefixes do not hear each other. A replica listens to the pattern
``<prefix>invalidate:*``, so a topic subscribed after the bus started is heard too.
"""

from __future__ import annotations

import asyncio
import logging

import redis
from redis.asyncio import Redis

from gateway.bus.signals import Deliver

logger = logging.getLogger("gateway.bus")
RECONNECT_SECONDS = 1.0


def channel_prefix(key_prefix: str) -> str:
    return f"{key_prefix}invalidate:"


class RedisTransport:
    def __init__(self, client: Redis, key_prefix: str) -> None:
        self._redis = client
        self._channel = channel_prefix(key_prefix)

    async def send(self, topic: str, message: str) -> None:
        try:
            await self._redis.publish(self._channel + topic, message)
        except redis.RedisError as exc:
            logger.warning(
                "could not publish %s on Redis (%s); the other replicas notice on their next refresh", topic, exc
            )

    async def catch_up(self, deliver: Deliver) -> None:
        """Nothing to do: Redis pushes every message to the listener as it is published."""

    async def run(self, deliver: Deliver, ready: asyncio.Event) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(_glob_escape(self._channel) + "*")
                    ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "pmessage":
                            topic = _text(message["channel"])[len(self._channel) :]
                            await deliver(topic, _text(message["data"]))
            except (redis.RedisError, OSError) as exc:
                logger.warning("change bus lost Redis (%s); reconnecting in %g s", exc, RECONNECT_SECONDS)
                await asyncio.sleep(RECONNECT_SECONDS)


def send_now(url: str, key_prefix: str, topic: str, message: str) -> bool:
    """Publish once from a process without a bus (the CLI); returns whether Redis took the message."""
    try:
        with redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0) as client:
            client.publish(channel_prefix(key_prefix) + topic, message)
    except redis.RedisError as exc:
        logger.warning("could not publish %s on Redis (%s)", topic, exc)
        return False
    return True


def _glob_escape(text: str) -> str:
    """A prefix such as ``team[a]:`` matched literally by PSUBSCRIBE's glob pattern."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
