"""Tell running gateways that the registry changed, from a process that has no bus of its own (the CLI).

With a Redis URL, this publishes on the channel the gateways' ``InvalidationBus`` listens to, and every replica
reloads its prompt cache at once. Without Redis the gateways notice on their next periodic check
(``gateway.prompt_refresh_seconds``, 2 s by default).
"""

from __future__ import annotations

import logging

from gateway.bus import CHANNEL_PREFIX

logger = logging.getLogger("gateway.prompts")
#: The InvalidationBus topic of prompt changes; its payload is the prompt name (informational).
TOPIC = "prompts"


def publish_change(redis_url: str | None, name: str) -> bool:
    """Publish that prompt ``name`` changed; returns whether Redis took the message."""
    if redis_url is None:
        return False
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        try:
            client.publish(CHANNEL_PREFIX + TOPIC, name)
        finally:
            client.close()
    except redis.RedisError as exc:
        logger.warning("could not tell the gateways through Redis (%s); they will notice within seconds", exc)
        return False
    return True
