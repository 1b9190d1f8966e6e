"""The serving side's copy of the registry, in memory, so resolving a prompt costs no database round trip.

* Loaded whole at start-up (before the gateway reports ready).
* Reloaded at once when the ``prompts`` topic of the change bus (``gateway.bus``) fires: a release, promote or
  rollback through the admin API of any process, or through the CLI. With Redis the message reaches every replica;
  on the embedded default (a SQLite file, no Redis) every process on the file, and the stage checks for such a
  message on every request that names a prompt, so a request sent after the CLI returned sees the change.
* Checked every ``refresh_seconds`` with one cheap query (``store.change_token``), and reloaded when it moved:
  this covers PostgreSQL without Redis and replicas that missed a message.
* Checked again when a request names a prompt, version or label it does not know, before the 400: a prompt pushed
  a moment ago is served at once. Every miss is answered from a check that began after it arrived, and misses
  share checks, at most one per ``MISS_CHECK_SECONDS``: a flood of unknown names costs the database at most
  five tiny queries a second, and each such request waits at most that long.

Versions are immutable, so a reload keeps the already compiled templates of every version it knew.
A database error during a refresh leaves the cache serving what it has; an outage is logged once when it starts
and once when it ends, one line each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.db import Database
from gateway.prompts.errors import LabelNotFound, PromptNotFound, VersionNotFound
from gateway.prompts.reference import DEFAULT_LABEL, Reference, in_canary
from gateway.prompts.store import LabelRow, PromptRows, Token, VersionRow, read_all, read_token
from gateway.tasks import cancel_and_wait

if TYPE_CHECKING:
    from gateway.prompts.render import CompiledPrompt

logger = logging.getLogger("gateway.prompts")
DEFAULT_REFRESH_SECONDS = 2.0
MISS_CHECK_SECONDS = 0.2


class ServedVersion:
    """One immutable version, with its templates compiled on first use."""

    __slots__ = ("_compiled", "content", "content_hash", "locked", "model", "name", "parameters", "version")

    def __init__(self, row: VersionRow) -> None:
        self.name = row.name
        self.version = row.version
        self.content_hash = row.content_hash
        self.content = row.content
        self.model: str | None = row.content.get("model")
        self.parameters: dict[str, Any] = dict(row.content.get("parameters") or {})
        self.locked = frozenset(row.content.get("locked") or ())
        self._compiled: CompiledPrompt | None = None

    @property
    def kind(self) -> str:
        return str(self.content.get("type", "chat"))

    @property
    def compiled(self) -> CompiledPrompt:
        if self._compiled is None:
            from gateway.prompts.render import CompiledPrompt  # noqa: PLC0415 - Jinja2 loads with the first prompt served

            self._compiled = CompiledPrompt(f"{self.name}@{self.version}", self.content)
        return self._compiled


@dataclass(slots=True)
class ServedPrompt:
    versions: dict[int, ServedVersion] = field(default_factory=dict)
    labels: dict[str, LabelRow] = field(default_factory=dict)


class PromptCache:
    def __init__(self, database: Database, refresh_seconds: float = DEFAULT_REFRESH_SECONDS) -> None:
        self._database = database
        self._refresh_seconds = refresh_seconds
        self._prompts: dict[str, ServedPrompt] = {}
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self._wanted = 0  # reloads asked for so far
        self._loaded = 0  # the reloads the last applied read covers
        self._task: asyncio.Task[None] | None = None
        self._miss_lock = asyncio.Lock()
        self._miss_checked_at = float("-inf")  # when the last check for a miss began (monotonic)
        self._outage = False

    def resolve(self, ref: Reference, caller: str | None) -> ServedVersion:
        """The version ``ref`` names now; a label with a canary sends ``caller`` to one side, stably."""
        prompt = self._prompts.get(ref.name)
        if prompt is None:
            raise PromptNotFound(f"unknown prompt `{ref.name}`")
        if ref.version is not None:
            served = prompt.versions.get(ref.version)
            if served is None:
                raise VersionNotFound(f"prompt `{ref.name}` has no version {ref.version}")
            return served
        label = ref.label or DEFAULT_LABEL
        state = prompt.labels.get(label)
        if state is None:
            raise LabelNotFound(f"prompt `{ref.name}` has no label `{label}`")
        number = state.version
        canary = state.canary_version
        if canary is not None and caller is not None and in_canary(ref.name, caller, state.canary_percent or 0.0):
            number = canary
        return prompt.versions[number]

    async def reload(self) -> None:
        """Read the whole registry again; returns once a read that began after this call has been applied.

        Concurrent calls share reads: a caller that finds a newer read already applied returns at once.
        """
        self._wanted += 1
        wanted = self._wanted
        async with self._lock:
            if self._loaded >= wanted:
                return
            covering = self._wanted
            token, rows = await asyncio.to_thread(read_all, self._database)
            self._apply(token, rows)
            self._loaded = covering

    async def check_after_miss(self) -> None:
        """Make sure the registry was read after this moment (see the module's docstring); never raises."""
        arrived = time.monotonic()
        async with self._miss_lock:
            if self._miss_checked_at >= arrived:
                return  # a check that began after this miss has been applied
            wait = self._miss_checked_at + MISS_CHECK_SECONDS - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._miss_checked_at = time.monotonic()
            try:
                await self.refresh_if_changed()
            except Exception as exc:  # the database is down: the miss stays a miss; the refresher reports it
                logger.debug("prompt lookup after a miss failed: %s", _one_line(exc))

    async def on_invalidate(self, payload: str) -> None:
        await self.reload()

    async def refresh_if_changed(self) -> bool:
        token = await asyncio.to_thread(read_token, self._database)
        if token == self._token:
            return False
        await self.reload()
        return True

    def start(self) -> None:
        if self._task is None and self._refresh_seconds > 0:
            self._task = asyncio.create_task(self._refresh_loop(), name="prompt-cache-refresh")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            try:
                await self.refresh_if_changed()
            except Exception as exc:  # keep serving what we have; the next tick tries again
                self._note_outage(exc)
                continue
            self._note_recovery()

    def _note_outage(self, exc: Exception) -> None:
        if not self._outage:
            self._outage = True
            logger.warning("prompt cache: cannot read the registry (%s); serving the prompts it has", _one_line(exc))

    def _note_recovery(self) -> None:
        if self._outage:
            self._outage = False
            logger.warning("prompt cache: the registry can be read again; refreshing as usual")

    def _apply(self, token: Token, rows: dict[str, PromptRows]) -> None:
        fresh: dict[str, ServedPrompt] = {}
        for name, prompt in rows.items():
            known = self._prompts.get(name)
            served = ServedPrompt(labels=dict(prompt.labels))
            for number, row in prompt.versions.items():
                old = known.versions.get(number) if known else None
                same = old is not None and old.content_hash == row.content_hash
                served.versions[number] = old if same and old is not None else ServedVersion(row)
            fresh[name] = served
        self._prompts = fresh
        self._token = token
        logger.debug("prompt cache loaded: %d prompts", len(fresh))


def _one_line(exc: BaseException) -> str:
    """A database error in one line: SQLAlchemy's messages carry the statement and a help link on more lines."""
    cause = getattr(exc, "orig", None) or exc
    first = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {first[0] if first else ''}".rstrip(": ")
