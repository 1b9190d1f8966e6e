"""The change bus as one piece: publish runs this process's handlers once and reaches the other buses, over the
SQLite notice file and over a real Redis (a throwaway key prefix), whether they subscribed before or after start."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from support.throwaway import REDIS_URL, redis_prefix

import gateway.bus.signals as signals
from gateway.bus import KEYS, PROMPTS, InvalidationBus, Transport, announce
from gateway.bus.pubsub import RedisTransport
from gateway.bus.signals import SignalTransport, signal_path
from gateway.config.models import GatewayConfig

BOUND = 5.0  # seconds a message may take to arrive; it takes milliseconds


class Heard:
    """A handler that records every payload it is called with."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.arrived = asyncio.Event()

    async def __call__(self, payload: str) -> None:
        self.payloads.append(payload)
        self.arrived.set()

    async def wait(self) -> list[str]:
        await asyncio.wait_for(self.arrived.wait(), BOUND)
        return self.payloads


Factory = Callable[[], Awaitable[Transport]]


@pytest.fixture(params=["signal", "redis"])
async def transports(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    """Makes transports that reach each other: on one SQLite file's notices, or on one Redis under one prefix."""
    if request.param == "signal":
        path = tmp_path / "gateway.db.bus"

        async def signal() -> Transport:
            return SignalTransport(path)

        yield signal
        return
    clients: list[aioredis.Redis] = []
    with redis_prefix("bus") as prefix:

        async def over_redis() -> Transport:
            client = aioredis.from_url(REDIS_URL, socket_timeout=1.0)
            clients.append(client)
            return RedisTransport(client, prefix)

        yield over_redis
        for client in clients:
            await client.aclose()


async def test_publish_runs_the_local_handlers_once_without_any_transport() -> None:
    bus = InvalidationBus()
    heard = Heard()
    bus.subscribe(KEYS, heard)
    await bus.start()
    await bus.publish(KEYS, "k1")
    assert heard.payloads == ["k1"]  # already when publish returns: no waiting
    await bus.aclose()


async def test_publish_runs_local_handlers_once_and_reaches_another_bus(transports: Factory) -> None:
    here, there = InvalidationBus(await transports()), InvalidationBus(await transports())
    heard_here, heard_there = Heard(), Heard()
    here.subscribe(PROMPTS, heard_here)
    there.subscribe(PROMPTS, heard_there)
    await here.start()
    await there.start()
    try:
        await here.publish(PROMPTS, "support-reply")
        assert heard_here.payloads == ["support-reply"]  # run before publish returned
        assert await heard_there.wait() == ["support-reply"]
        await asyncio.sleep(0.3)  # its own message has come back by now over Redis / the file, and was skipped
        assert heard_here.payloads == ["support-reply"]
        assert heard_there.payloads == ["support-reply"]
    finally:
        await here.aclose()
        await there.aclose()


async def test_a_handler_subscribed_after_start_hears_other_buses(transports: Factory) -> None:
    here, there = InvalidationBus(await transports()), InvalidationBus(await transports())
    await here.start()
    await there.start()
    try:
        late = Heard()
        there.subscribe(KEYS, late)  # after start: no ordering rule to follow
        await here.publish(KEYS, "changed")
        assert await late.wait() == ["changed"]
    finally:
        await here.aclose()
        await there.aclose()


async def test_a_failing_handler_does_not_keep_the_others_from_the_change(caplog: pytest.LogCaptureFixture) -> None:
    bus = InvalidationBus()
    heard = Heard()

    async def broken(payload: str) -> None:
        raise RuntimeError("a bug in one cache")

    bus.subscribe(KEYS, broken)
    bus.subscribe(KEYS, heard)
    with caplog.at_level(logging.ERROR, logger="gateway.bus"):
        await bus.publish(KEYS, "x")
    assert heard.payloads == ["x"]
    assert "change handler for keys failed" in caplog.text and "a bug in one cache" in caplog.text


def test_an_unknown_topic_is_refused_at_once() -> None:
    bus = InvalidationBus()
    with pytest.raises(ValueError, match="unknown bus topic 'key'"):
        bus.subscribe("key", Heard())
    with pytest.raises(ValueError, match=r"gateway/bus/topics\.py"):
        announce(None, None, "promtps")


@pytest.mark.parametrize("kind", ["signal", "redis"])
async def test_announce_from_a_process_without_a_bus_reaches_the_running_one(kind: str, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    with redis_prefix("bus-announce") as prefix:
        section: dict[str, Any] = {"redis_url": REDIS_URL, "redis_key_prefix": prefix} if kind == "redis" else {}
        config = GatewayConfig.model_validate({"model_list": [], "gateway": section})
        client = aioredis.from_url(REDIS_URL) if kind == "redis" else None
        bus = InvalidationBus.for_config(config, database_url, client)
        heard = Heard()
        bus.subscribe(KEYS, heard)
        await bus.start()
        try:
            told = await asyncio.to_thread(announce, config, database_url, KEYS, "revoked")
            assert told == kind
            assert await heard.wait() == ["revoked"]
        finally:
            await bus.aclose()
            if client is not None:
                await client.aclose()


async def test_catch_up_acts_on_a_notice_at_once_without_waiting_for_the_poll(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    path = signal_path(database_url)
    assert path is not None
    bus = InvalidationBus(SignalTransport(path))  # not started: only catch_up can deliver
    heard = Heard()
    bus.subscribe(PROMPTS, heard)
    assert announce(None, database_url, PROMPTS, "faq") == "signal"
    await bus.catch_up()
    assert heard.payloads == ["faq"]
    await bus.catch_up()
    assert heard.payloads == ["faq"]  # read once


async def test_notices_written_before_start_are_history_and_a_fresh_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "ROTATE_BYTES", 200)
    database_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    announce(None, database_url, KEYS, "old news")
    path = signal_path(database_url)
    assert path is not None
    bus = InvalidationBus(SignalTransport(path))
    heard = Heard()
    bus.subscribe(KEYS, heard)
    sent = [f"change {n}" for n in range(12)]  # some 60 bytes each: the file starts afresh several times
    for payload in sent:
        announce(None, database_url, KEYS, payload)
        await bus.catch_up()
    assert heard.payloads == sent
    assert path.stat().st_size < 400


async def test_a_message_from_an_older_cli_without_an_envelope_is_still_acted_on(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db.bus"
    bus = InvalidationBus(SignalTransport(path))
    heard = Heard()
    bus.subscribe(KEYS, heard)
    signals.append(path, KEYS, "changed")
    await bus.catch_up()
    assert heard.payloads == ["changed"]


def test_only_a_sqlite_file_has_a_notice_file(tmp_path: Path) -> None:
    assert signal_path(f"sqlite:///{tmp_path / 'g.db'}") == tmp_path / "g.db.bus"
    assert signal_path("sqlite:///:memory:") is None
    assert signal_path("postgresql://postgres@127.0.0.1/x") is None
    assert signal_path(None) is None


async def test_catch_up_waits_for_a_notice_another_caller_is_still_acting_on(tmp_path: Path) -> None:
    """The poller may have read the notice and be reloading: a request must not go on with the old copy."""
    path = tmp_path / "gateway.db.bus"
    bus = InvalidationBus(SignalTransport(path))
    reloading, reloaded = asyncio.Event(), asyncio.Event()

    async def slow_reload(payload: str) -> None:
        reloading.set()
        await asyncio.wait_for(reloaded.wait(), BOUND)

    bus.subscribe(PROMPTS, slow_reload)
    signals.append(path, PROMPTS, "faq")
    poller = asyncio.create_task(bus.catch_up())
    await asyncio.wait_for(reloading.wait(), BOUND)
    request = asyncio.create_task(bus.catch_up())
    await asyncio.sleep(0.05)
    assert not request.done()  # it waits for the reload under way
    reloaded.set()
    await asyncio.wait_for(asyncio.gather(poller, request), BOUND)
