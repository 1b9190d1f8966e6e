"""The change bus: tell every gateway process that something it keeps in memory changed (a key revoked, a label moved).

One call, ``await bus.publish(topic, payload)``, does all of it:

1. it runs this process's handlers of the topic, awaited, so the change holds here before the caller goes on (an
   admin answer is sent after its own replica has reloaded);
2. it tells the other processes, which run their handlers when the message arrives: through Redis pub/sub when
   the config names a Redis (every replica, at once), else through a notice file beside a SQLite database file
   (every process on that file, within a tenth of a second; see ``gateway.bus.signals``). With neither
   (PostgreSQL without Redis) there is no one to tell, and the other processes notice on their periodic refresh.

Every message carries the id of the bus that sent it, so a process never runs its handlers twice for its own
change. Handlers may subscribe before or after ``start()``. A process without a bus of its own (the CLI) tells the
running gateways with ``announce``. The topics are listed in ``gateway.bus.topics``.

Every cache that subscribes should also refresh on a timer: that covers a message lost while Redis was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, Protocol

from gateway.bus.signals import Deliver, SignalTransport, append, signal_path
from gateway.bus.topics import CACHE, KEYS, PROMPTS, TOPICS, known
from gateway.config.models import GatewayConfig
from gateway.tasks import cancel_and_wait

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["CACHE", "KEYS", "PROMPTS", "TOPICS", "Handler", "InvalidationBus", "Transport", "announce"]

Handler = Callable[[str], Awaitable[None]]
Told = Literal["redis", "signal"]
#: How long ``start`` waits for the listener to be in place (Redis subscribed) before it lets start-up go on.
READY_SECONDS = 1.0
logger = logging.getLogger("gateway.bus")


class Transport(Protocol):
    """How messages travel between processes: ``RedisTransport`` or ``SignalTransport``."""

    async def send(self, topic: str, message: str) -> None: ...  # logs and returns when it cannot
    async def catch_up(self, deliver: Deliver) -> None: ...
    async def run(self, deliver: Deliver, ready: asyncio.Event) -> None: ...  # forever


class InvalidationBus:
    """Contract: ``publish`` returns after this process's handlers of the topic ran, in the order they subscribed
    (one that raises is logged, the others still run), and never raises for the other processes. Other processes'
    messages run the handlers once each; this process's own never run them a second time. ``subscribe`` works
    before and after ``start``. Topics must be in ``gateway.bus.topics.TOPICS`` (a ValueError otherwise)."""

    def __init__(self, transport: Transport | None = None) -> None:
        self._transport = transport
        self._sender = _new_sender()
        self._handlers: dict[str, list[Handler]] = {}
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_config(cls, config: GatewayConfig, database_url: str | None, redis: Redis | None) -> InvalidationBus:
        """Over ``redis`` when there is one, else over the SQLite file's notices, else this process alone."""
        return cls(_transport(config, database_url, redis))

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler(payload)`` whenever any process publishes on ``topic``; before or after ``start``."""
        self._handlers.setdefault(known(topic), []).append(handler)

    async def publish(self, topic: str, payload: str = "") -> None:
        """Run this process's handlers (awaited), then tell the other processes; never raises for them."""
        await self._dispatch(known(topic), payload)
        if self._transport is not None:
            await self._transport.send(topic, _envelope(self._sender, payload))

    async def start(self) -> None:
        """Listen to the other processes (idempotent). Waits, briefly, until the listener is in place."""
        if self._transport is None or self._task is not None:
            return
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._transport.run(self._receive, ready), name="change-bus")
        self._task.add_done_callback(_report_crash)
        with contextlib.suppress(TimeoutError):  # Redis down at start: start anyway, the listener keeps trying
            await asyncio.wait_for(ready.wait(), READY_SECONDS)

    async def catch_up(self) -> None:
        """Act now on messages other processes have already sent (the notice file: one ``stat`` if none).

        For a request that must see a change the CLI made just before it was sent (a prompt release)."""
        if self._transport is not None:
            await self._transport.catch_up(self._receive)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _receive(self, topic: str, message: str) -> None:
        sender, payload = _open(message)
        if sender != self._sender:  # our own message: its handlers ran when it was published
            await self._dispatch(topic, payload)

    async def _dispatch(self, topic: str, payload: str) -> None:
        for handler in self._handlers.get(topic, []):
            try:
                await handler(payload)
            except Exception:  # one failing handler must not keep the others from their change
                logger.exception("change handler for %s failed", topic)


def announce(config: GatewayConfig | None, database_url: str | None, topic: str, payload: str = "") -> Told | None:
    """Tell the running gateways about a change, from a process without a bus (the CLI); synchronous.

    The same way the gateways of ``config`` on ``database_url`` listen: Redis when the config names one, else the
    SQLite file's notices. Returns how they were told, or None when they could not be (they notice on their
    periodic refresh)."""
    topic, message = known(topic), _envelope(_new_sender(), payload)
    if config is not None and config.gateway.redis_url is not None:
        from gateway.bus.pubsub import send_now  # noqa: PLC0415 - redis, only when there is a Redis

        url = config.gateway.redis_url.get_secret_value()
        return "redis" if send_now(url, config.gateway.redis_key_prefix, topic, message) else None
    path = signal_path(database_url)
    if path is None:
        return None
    try:
        append(path, topic, message)
    except OSError as exc:
        logger.warning("could not write the change notice to %s (%s)", path, exc.strerror or exc)
        return None
    return "signal"


def _transport(config: GatewayConfig, database_url: str | None, redis: Redis | None) -> Transport | None:
    if redis is not None:
        from gateway.bus.pubsub import RedisTransport  # noqa: PLC0415 - redis, only when there is a Redis

        return RedisTransport(redis, config.gateway.redis_key_prefix)
    path = signal_path(database_url)
    return SignalTransport(path) if path is not None else None


def _report_crash(task: asyncio.Task[None]) -> None:
    """The listener ends only when cancelled; anything else is a bug, and the other processes' changes stop here."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("the change bus stopped listening", exc_info=task.exception())


def _new_sender() -> str:
    return secrets.token_hex(8)


def _envelope(sender: str, payload: str) -> str:
    return json.dumps({"sender": sender, "payload": payload})


def _open(message: str) -> tuple[str | None, str]:
    """(sender, payload); a message that is not an envelope (an older CLI's) is a payload from no one we know."""
    try:
        envelope = json.loads(message)
        return str(envelope["sender"]), str(envelope["payload"])
    except (ValueError, TypeError, KeyError):
        return None, message
