"""Every key and team in memory, so that authenticating a request costs a hash and a dict lookup.

Loaded at start-up, then kept fresh two ways:

* a message on the change bus (topic ``keys``) reloads at once; the admin API and the CLI publish one after
  every change, and it reaches every process (through Redis, or the SQLite file's notices; see gateway.bus);
* a poll of ``key_store_version`` (one row, one integer) every ``refresh_seconds`` reloads when the number moved.
  It covers PostgreSQL without Redis, a missed message, and a change written to the database by other means.

A database that cannot be reached leaves the last loaded keys in place, with one warning per outage. One that
cannot be reached at start-up does not stop the start: until the first load succeeds (the poll keeps trying),
``lookup`` raises ``DependencyUnavailable`` (503), since no virtual key can be checked; the master key works.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC

from gateway.bus import KEYS, InvalidationBus
from gateway.db import Database
from gateway.db.keys import Team, VirtualKey
from gateway.errors import DependencyUnavailable
from gateway.keys import store
from gateway.pipeline.context import NO_LIMITS, Limits, Principal
from gateway.tasks import cancel_and_wait

TOPIC = KEYS  # (gateway/http/admin/keys.py imports it from here)
logger = logging.getLogger("gateway.keys")


@dataclass(frozen=True, slots=True)
class CachedKey:
    principal: Principal
    key_hash: str
    expires_at: float | None  # epoch seconds
    revoked: bool

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class KeyCache:
    def __init__(self, database: Database, *, refresh_seconds: float = 0.5) -> None:
        self._db = database
        self._interval = refresh_seconds
        self._by_hash: dict[str, CachedKey] = {}
        self._teams: dict[str, Team] = {}
        self._version: int | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._listeners: list[Callable[[], None]] = []

    @property
    def loaded(self) -> bool:
        return self._version is not None

    def lookup(self, key_hash: str) -> CachedKey | None:
        entry = self._by_hash.get(key_hash)
        if entry is None and self._version is None:
            raise DependencyUnavailable(
                "Virtual keys cannot be checked yet: the gateway's database has not been reachable since it "
                "started. Retry shortly.",
                headers={"retry-after": "2"},
            )
        return entry

    def entries(self) -> Iterable[CachedKey]:
        return self._by_hash.values()

    def teams(self) -> Iterable[Team]:
        return self._teams.values()

    def on_reload(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every reload (it must not block: start a task if it has work to do)."""
        self._listeners.append(listener)

    async def reload(self) -> None:
        async with self._lock:
            snap = await asyncio.to_thread(store.snapshot, self._db)
            teams = {team.id: team for team in snap.teams}
            self._by_hash = {key.key_hash: _cached(key, teams.get(key.team_id or "")) for key in snap.keys}
            self._teams = teams
            self._version = snap.version
        logger.debug("key cache loaded: %d keys, %d teams (version %d)", len(snap.keys), len(teams), snap.version)
        for listener in self._listeners:
            listener()

    async def start(self, bus: InvalidationBus | None) -> None:
        """Load now, then follow changes. A database that cannot be reached (or
        not migrated yet) does not stop the start: the poll loads the keys once it answers."""
        try:
            await self.reload()
        except Exception as exc:  # the start must go on: the master key and the spill file work without keys
            self._failing = True
            logger.warning("key cache: cannot load the virtual keys (%s); they get 503 until it can", _brief(exc))
        if bus is not None:
            bus.subscribe(TOPIC, self._on_message)
        self._task = asyncio.create_task(self._poll(), name="key-cache-refresh")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _on_message(self, _payload: str) -> None:
        await self.reload()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                current = await asyncio.to_thread(store.version, self._db)
                if current != self._version:
                    await self.reload()
                if self._failing:
                    self._failing = False
                    logger.info("key cache: the database is reachable again")
            except Exception as exc:
                if not self._failing:
                    self._failing = True
                    logger.warning("key cache: cannot refresh from the database (%s); keeping the loaded keys", exc)


def _brief(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return type(original).__name__


def _cached(key: VirtualKey, team: Team | None) -> CachedKey:
    principal = Principal(
        key_id=key.id,
        key_name=key.name,
        team_id=key.team_id,
        store_content=key.store_content,
        team_name=team.name if team else None,
        key_limits=_limits(key),
        team_limits=_limits(team) if team else NO_LIMITS,
        guardrails=(*(key.guardrails or ()), *((team.guardrails or ()) if team else ())),
    )
    expires_at = key.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    expires = expires_at.timestamp() if expires_at is not None else None
    return CachedKey(principal, key.key_hash, expires, key.revoked_at is not None)


def _limits(row: VirtualKey | Team) -> Limits:
    return Limits(
        rpm=row.rpm,
        tpm=row.tpm,
        budget_usd=row.budget_usd,
        budget_period=row.budget_period,
        models=frozenset(row.models) if row.models else None,
    )
