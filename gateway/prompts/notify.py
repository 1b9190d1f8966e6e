"""Tell running gateways that the registry changed, from a process that has no bus of its own (the CLI).

With a Redis URL, this publishes on the channel the gateways' ``InvalidationBus`` listens to, and every replica
reloads its prompt cache at once. On a SQLite file (the embedded default, no Redis) it touches a signal file
beside the database, ``<db file>.prompts-signal``: every gateway process on that file checks its modification time
ten times a second (a ``stat``, no query) and reloads at once. Otherwise (PostgreSQL without Redis) the gateways
notice on their next periodic check (``gateway.prompt_refresh_seconds``, 2 s by default).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url

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


def signal_path(database_url: str) -> Path | None:
    """The signal file of a SQLite database file; None for other databases and in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(f"{url.database}.prompts-signal")


def touch_signal(database_url: str) -> bool:
    """Tell the gateways on this SQLite file that the registry changed; returns whether there was a file to touch."""
    path = signal_path(database_url)
    if path is None:
        return False
    try:
        path.touch()
    except OSError as exc:
        logger.warning("could not touch %s (%s); the gateways will notice within seconds", path, exc.strerror)
        return False
    return True
